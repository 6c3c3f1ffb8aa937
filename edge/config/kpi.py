"""The [kpi] section of the hub config."""

from __future__ import annotations

from edge.config.hub import Section


class KpiSection(Section):
    enabled: bool = True
