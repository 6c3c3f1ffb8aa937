"""The demo's two private Mosquitto brokers ("hall" and "cloud") on free loopback ports.

The demo must never touch a broker it did not start (the machine may run its own on 1883),
and must never leave one behind: each broker runs in its own session, so a Ctrl-C in the
terminal reaches the demo only (which then stops the hub first, the brokers last), and on
Linux it is told to exit if the demo itself dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from edge.errors import EdgeError

RESERVED_PORT = 1883  # the machine's own broker, if any: never ours

# Queue limits, set deliberately (Mosquitto's default of 1000 queued QoS 1 messages per
# client silently drops messages to a slow subscriber, which would show up as hallseq gaps
# that are not the hub's fault, and "0 = unlimited" lets a stuck client eat the memory):
# - in flight 1000: the hub acknowledges hall messages only after their group commit (up
#   to 500 rows), so the hall broker must let at least two batches be in flight to it;
#   on the cloud side the demo's viewer gets the hub's whole QoS 1 window without waits.
# - queued 100 000 messages / 64 MiB per client: far above what a demo day produces while
#   a client is busy (a few thousand events), yet a bound.
MAX_INFLIGHT_MESSAGES = 1000
MAX_QUEUED_MESSAGES = 100_000
MAX_QUEUED_BYTES = 64 * 1024 * 1024


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (never 1883)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != RESERVED_PORT:
            return port


def port_in_use(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _exit_with_parent() -> Callable[[], None] | None:
    """A preexec function asking Linux to SIGTERM the child when the demo dies (prctl
    PR_SET_PDEATHSIG); None elsewhere. Looked up before forking: the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    prctl = ctypes.CDLL(name, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def set_deathsig() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_deathsig


class DemoBroker:
    """One private Mosquitto on a free loopback port, configured and logged in `workdir`.

    Start and stop it from the same thread (the main one): the parent-death signal is tied
    to the thread that started it.
    """

    def __init__(self, name: str, workdir: Path, port: int | None = None) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise EdgeError(
                "mosquitto is not installed (Debian/Ubuntu: apt-get install mosquitto, "
                "or run ./hall setup)"
            )
        self.name = name
        self.exe = exe
        self.dir = workdir
        self.port = port or free_port()
        if self.port == RESERVED_PORT:
            raise EdgeError(f"{name} broker: port {RESERVED_PORT} is not the demo's to use")
        self.conf = workdir / f"{name}-mosquitto.conf"
        self.log = workdir / f"{name}-mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _write_conf(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            # Nothing to keep between runs: sessions live as long as the demo.
            "persistence false",
            "set_tcp_nodelay true",
            f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
            f"max_queued_messages {MAX_QUEUED_MESSAGES}",
            f"max_queued_bytes {MAX_QUEUED_BYTES}",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if os.geteuid() == 0:
            # As root Mosquitto drops to the `mosquitto` user, which cannot write its log
            # into a root-owned 0700 temp dir: the broker would run with no log to read.
            lines.append("user root")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def start(self, timeout_s: float = 10.0) -> None:
        """Start and wait until it accepts connections; EdgeError if it does not."""
        if self.running:
            return
        self._write_conf()
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: the terminal's Ctrl-C goes to the demo, which stops the hub
            # before the brokers (a broker gone first would look like an outage).
            start_new_session=True,
            preexec_fn=_exit_with_parent(),  # noqa: PLW1509 - only a prctl call in the child
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise EdgeError(f"{self.name} broker: mosquitto exited at start; see {self.log}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        self.stop()
        raise EdgeError(f"{self.name} broker: mosquitto did not listen on port {self.port}")

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop it (SIGTERM, then SIGKILL) and reap the process; safe to call twice."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_brokers(workdir: Path, attempts: int = 3) -> tuple[DemoBroker, DemoBroker]:
    """The hall broker and the cloud broker, started; both stopped again on any failure.

    A free port can be taken by someone else between choosing it and binding it, so a
    broker that fails to start is tried again on another port.
    """
    started: list[DemoBroker] = []
    try:
        for name in ("hall", "cloud"):
            for attempt in range(attempts):
                broker = DemoBroker(name, workdir)
                try:
                    broker.start()
                except EdgeError:
                    if attempt == attempts - 1:
                        raise
                    continue
                started.append(broker)
                break
    except BaseException:
        for broker in started:
            broker.stop()
        raise
    return started[0], started[1]
