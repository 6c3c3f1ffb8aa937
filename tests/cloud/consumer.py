"""`hall-cloud consume` in a subprocess (so a test can SIGKILL it) and a hall emulator that
publishes envelopes straight to the cloud broker."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.hall import ROOT


class ConsumerProcess:
    def __init__(self, workdir: Path, broker: str, dsn: str, client_id: str, *extra: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.args = [
            sys.executable,
            "-m",
            "cloud",
            "consume",
            "--broker",
            broker,
            "--db",
            dsn,
            "--client-id",
            client_id,
            *extra,
        ]
        self.log = workdir / f"{client_id}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self, wait: bool = True, timeout: float = 20.0) -> None:
        self.runs += 1
        with self.log.open("ab") as out:
            out.write(f"--- run {self.runs}\n".encode())
            self.proc = subprocess.Popen(
                self.args,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        if wait:
            self.wait_log("broker: connected", timeout)

    def text(self) -> str:
        return self.log.read_text(errors="replace").split(f"--- run {self.runs}\n")[-1]

    def wait_log(self, needle: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"consumer exited {self.proc.returncode}:\n{self.text()}")
            time.sleep(0.05)
        raise AssertionError(f"no {needle!r} in the consumer's log:\n{self.text()[-3000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM; returns how many messages the run stored (from its last log line)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        m = re.search(r"stopped after (\d+) messages", self.text())
        return int(m.group(1)) if m else -1
