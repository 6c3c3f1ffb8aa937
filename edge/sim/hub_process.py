"""`hall-edge run` as a child process, so a test or a benchmark can SIGKILL the hub like a
power cut would."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from edge.sim import processes

# The directory holding the `edge` package (and `cloud` beside it in a checkout).
SOURCE = Path(__file__).resolve().parents[2]


def source_env() -> dict[str, str]:
    """This environment with SOURCE first on the path: a child runs the same code as its
    parent (this worktree's), whatever copy the interpreter has installed."""
    return {**os.environ, "PYTHONPATH": str(SOURCE)}


class HubProcess(processes.LoggedProcess):
    """A hub on its hall.toml, run in the config's folder (where `hall.db` goes), logging
    to `hub.log` beside it."""

    def __init__(self, config: Path) -> None:
        super().__init__(
            [sys.executable, "-m", "edge.cli", "run", "-c", str(config)],
            config.parent / "hub.log",
            cwd=config.parent,
            env=source_env(),
        )
        self.config = config

    def start(self, wait: bool = True, timeout: float = 20.0) -> None:
        self.launch()
        if wait:
            self.wait_connected(timeout)

    def wait_connected(self, timeout: float = 20.0) -> None:
        self.wait_log("hall broker: connected", "cloud: connected", timeout=timeout)
