"""The [queue] section of the hub config."""

from __future__ import annotations

from edge.config.hub import Section


class QueueSection(Section):
    enabled: bool = True
