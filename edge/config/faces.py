"""The [faces] section of the hub config."""

from __future__ import annotations

from edge.config.hub import Section


class FacesSection(Section):
    enabled: bool = True
