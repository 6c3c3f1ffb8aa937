"""Child processes the simulators, benchmarks and tests start: run with a log, ended
politely (or not)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from edge.errors import EdgeError


def terminate(proc: subprocess.Popen[bytes] | None, timeout_s: float = 10.0) -> int | None:
    """SIGTERM, then SIGKILL after `timeout_s`; reaped either way. Its exit code, or None
    when there was no process. Safe on one that already exited."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def kill(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL (a power cut, as far as the process can tell) and reap it."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


class LoggedProcess:
    """A command run as a child, and again after a stop or a kill. Every run's output goes
    to one log after a `--- run N` line, so `text()` is what the latest run said."""

    def __init__(
        self,
        args: Sequence[str],
        log: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.args = list(args)
        self.log = log
        self.cwd = cwd
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.started = 0.0  # time.monotonic() of the latest launch

    def launch(self) -> None:
        self.runs += 1
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"--- run {self.runs}\n".encode())
            out.flush()
            self.started = time.monotonic()
            self.proc = subprocess.Popen(
                self.args, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def log_text(self) -> str:
        """Every run's output."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def text(self) -> str:
        """The latest run's output."""
        return self.log_text().split(f"--- run {self.runs}\n")[-1]

    def wait_log(self, *needles: str, timeout: float = 20.0, every: float = 0.05) -> float:
        """Seconds from the launch until the latest run logged every needle; EdgeError if
        it exits first, or after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if all(n in text for n in needles):
                return time.monotonic() - self.started
            if self.proc is not None and self.proc.poll() is not None:
                raise EdgeError(f"{self.log}: exited with {self.proc.returncode}:\n{text}")
            if time.monotonic() > deadline:
                raise EdgeError(f"{self.log}: no {needles} in {timeout:.0f} s:\n{text[-3000:]}")
            time.sleep(every)

    def kill(self) -> None:
        kill(self.proc)

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM (SIGKILL after `timeout_s`); its exit code, 0 if it never ran."""
        return terminate(self.proc, timeout_s) or 0
