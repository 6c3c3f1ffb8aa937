"""`hall-cloud consume` as a child process, so a test or a benchmark can SIGKILL it.

A subprocess and not an import: the hub's side never imports the cloud's (the
import-linter contract), and a consumer killed mid-batch is what the checks are about.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from edge.sim import processes
from edge.sim.hub_process import source_env


class ConsumerProcess(processes.LoggedProcess):
    """One consumer on BROKER (a URL, or a comma list of AMQP URLs) into the PostgreSQL at
    DSN, logging to `{client_id}.log` in WORKDIR; EXTRA are more `consume` options."""

    def __init__(self, workdir: Path, broker: str, dsn: str, client_id: str, *extra: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        args = ["--broker", broker, "--db", dsn, "--client-id", client_id, *extra]
        super().__init__(
            [sys.executable, "-m", "cloud", "consume", *args],
            workdir / f"{client_id}.log",
            env=source_env(),
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


def consumers(
    workdir: Path, urls: list[str], dsn: str, n: int, group: str, *extra: str
) -> list[ConsumerProcess]:
    """N consumers competing in the shared GROUP (not started); consumer i tries url i
    first: AMQP URLs as a comma list rotated, so a node lost sends each to the next one."""
    out = []
    for i in range(n):
        rotated = urls[i % len(urls) :] + urls[: i % len(urls)]
        out.append(
            ConsumerProcess(
                workdir,
                ",".join(rotated) if rotated[0].startswith("amqp") else rotated[0],
                dsn,
                f"{group}-c{i}",
                "--shared-group",
                group,
                *extra,
            )
        )
    return out
