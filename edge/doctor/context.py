"""What every check reads: the config (when it parses), the box's paths, the time limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from edge.config import HubConfig
from edge.install.layout import Layout


@dataclass
class Context:
    config_path: Path
    layout: Layout
    # None when the file does not even have the config's shape; a config that has it but
    # fails a check (a key file too open...) is still here, so the other checks run.
    cfg: HubConfig | None = None
    timeout_s: float = 2.0
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
