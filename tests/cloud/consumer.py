"""`hall-cloud consume` in a subprocess (so a test can SIGKILL it) and a hall emulator that
publishes envelopes straight to the cloud broker."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from edge.sim import processes
from tests.support.hall import ROOT


class ConsumerProcess(processes.LoggedProcess):
    def __init__(self, workdir: Path, broker: str, dsn: str, client_id: str, *extra: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        args = ["--broker", broker, "--db", dsn, "--client-id", client_id, *extra]
        super().__init__(
            [sys.executable, "-m", "cloud", "consume", *args],
            workdir / f"{client_id}.log",
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def start(self, wait: bool = True, timeout: float = 20.0) -> None:
        self.launch()
        if wait:
            self.wait_log("broker: connected", timeout=timeout)

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM; returns how many messages the run stored (from its last log line)."""
        super().stop(timeout_s)
        m = re.search(r"stopped after (\d+) messages", self.text())
        return int(m.group(1)) if m else -1
