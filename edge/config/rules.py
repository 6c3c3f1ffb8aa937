"""The [rules] section of the hub config."""

from __future__ import annotations

from edge.config.hub import Section


class RulesSection(Section):
    enabled: bool = True
