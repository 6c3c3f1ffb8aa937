"""The hub process with a journal file that cannot grow past `[store] disk_max_bytes`.

A small disk without root tricks: SQLite refuses to grow the file (SQLITE_FULL) and the
hub takes its disk-full path. This is plain `hall-edge run`; only the config gets the key.
"""

from __future__ import annotations

import re
from pathlib import Path

from edge.sim.hub_process import HubProcess


def with_disk_budget(config: Path, max_bytes: int) -> None:
    """Put `disk_max_bytes = max_bytes` into the config's `[store]` table."""
    text = config.read_text()
    text = re.sub(r"(?m)^disk_max_bytes = .*\n", "", text)
    if not re.search(r"(?m)^\[store\]$", text):
        text += "\n[store]\n"
    config.write_text(
        re.sub(r"(?m)^\[store\]$", f"[store]\ndisk_max_bytes = {int(max_bytes)}", text, count=1)
    )


class SmallDiskHub(HubProcess):
    """A HubProcess whose journal file is capped at `max_bytes` by its config."""

    def __init__(self, config: Path, max_bytes: int) -> None:
        with_disk_budget(config, max_bytes)
        super().__init__(config)
        self.max_bytes = max_bytes
