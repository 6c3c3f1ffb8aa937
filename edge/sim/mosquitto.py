"""A private Mosquitto on free loopback ports: the one launcher of the demo, the benchmarks
and the tests.

It never uses a broker it did not start: its ports are free loopback ports and 1883 (the
machine's own broker, if any) is refused. Its config, log, persistence file and password
file all live in its own folder, and its ports are chosen once, so a broker stopped (or
SIGKILLed) and started again comes back on the same port with what it had saved.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from edge.errors import EdgeError
from edge.sim import processes

RESERVED_PORT = 1883  # the machine's own broker, if any: never ours
# Mosquitto's default of 1000 queued QoS 1 messages per client drops messages to a slow
# subscriber without a word; a test or a benchmark would see gaps that are not the hub's.
UNLIMITED = (0, 0)  # (max_queued_messages, max_queued_bytes): 0 = no limit
# The hub acknowledges hall messages only after their group commit (up to 500 rows), so a
# broker must let at least two batches be in flight to it (Mosquitto's default is 20).
MAX_INFLIGHT_MESSAGES = 1000


def free_ports(n: int) -> list[int]:
    """`n` distinct TCP ports on 127.0.0.1 that nothing listens on right now (never 1883);
    held open together while chosen, so they differ."""
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            s = socket.socket()
            socks.append(s)  # a reserved port stays bound meanwhile, so it is not picked again
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
            if port != RESERVED_PORT:
                ports.append(port)
        return ports
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on host:port."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def mosquitto_exe() -> Path | None:
    """The installed `mosquitto`, or None."""
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return Path(found) if Path(found).exists() else None


def add_user(passwd_file: Path, user: str, password: str) -> None:
    """Hash `user:password` into a Mosquitto password file (made if missing)."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise EdgeError("mosquitto_passwd is not installed (./hall setup installs it)")
    args = [tool, "-b"] if passwd_file.exists() else [tool, "-b", "-c"]
    subprocess.run([*args, str(passwd_file), user, password], check=True, capture_output=True)
    os.chmod(passwd_file, 0o644)  # the broker may run as the mosquitto user


class Tls(NamedTuple):
    """A TLS listener's files. Clients must present a certificate signed by `ca`."""

    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class Listener:
    """One listener. `login`: only the password file's users get in, no anonymous client."""

    port: int
    host: str = "127.0.0.1"
    tls: Tls | None = None
    login: bool = False

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def conf_lines(self, passwd: Path) -> list[str]:
        lines = [f"listener {self.port} {self.host}"]
        if self.tls is not None:
            lines += [
                f"cafile {self.tls.ca}",
                f"certfile {self.tls.cert}",
                f"keyfile {self.tls.key}",
                "require_certificate true",
                "tls_version tlsv1.2",
            ]
        if self.login:
            return [*lines, f"password_file {passwd}", "allow_anonymous false"]
        return [*lines, "allow_anonymous true"]


def _exit_with_parent() -> Callable[[], None] | None:
    """A preexec function asking Linux to SIGTERM the child when its parent dies (prctl
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


NODELAY = "set_tcp_nodelay true"


def _sets(settings: Sequence[str], key: str) -> bool:
    return any(line.split(maxsplit=1)[:1] == [key] for line in settings)


class Mosquitto:
    """One private broker in `workdir`: `{name}.conf`, `{name}.log` (its log and its own
    output, for assertions), `{name}.passwd`, and its persistence file.

    - `port`: of its one listener (a free port if None); `listeners` replaces that one
      listener by several (the first is `port` and `url`), each with its own settings.
    - `persistence`: sessions and queued messages survive a restart (saved every second
      unless `settings` set `autosave_*`).
    - `users`: user -> password, hashed into the password file; the default listener
      then takes only them.
    - `max_queued`: (messages, bytes) queued per client; no limit by default.
    - `settings`: more config lines, last (global options, e.g. `autosave_interval 10`).
    - `nodelay`: `set_tcp_nodelay true`, as in every broker the project ships: without it
      Nagle holds a small reply back for up to ~40 ms (issue #18: a device's reply took
      44 ms device→cloud, 1.7 ms with it). False only to measure that difference.
    - `conf`: the whole config instead (the shipped hall broker's, say), which must listen
      on `port`; the options above then do not apply.
    - `own_session`: in a session of its own, so a terminal's Ctrl-C reaches the caller
      only, and told (on Linux) to exit when the thread that started it dies: start and
      stop it from one long-lived thread.
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        name: str = "mosquitto",
        persistence: bool = True,
        users: Mapping[str, str] | None = None,
        listeners: Sequence[Listener] = (),
        max_queued: tuple[int, int] = UNLIMITED,
        settings: Sequence[str] = (),
        conf: str | None = None,
        own_session: bool = False,
        nodelay: bool = True,
    ) -> None:
        exe = mosquitto_exe()
        if exe is None:
            raise EdgeError(
                "mosquitto is not installed (Debian/Ubuntu: apt-get install mosquitto, "
                "or run ./hall setup)"
            )
        if conf is not None and port is None:
            raise ValueError("a given conf needs the port it listens on")
        self.exe = exe
        self.name = name
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / f"{name}.conf"
        self.log = workdir / f"{name}.log"
        self.passwd = workdir / f"{name}.passwd"
        self.own_session = own_session
        self.listeners = list(listeners) or [Listener(port or free_port(), login=bool(users))]
        if any(lst.port == RESERVED_PORT for lst in self.listeners):
            raise EdgeError(f"{name}: port {RESERVED_PORT} is not ours to use")
        self.port = self.listeners[0].port
        for user, password in (users or {}).items():
            add_user(self.passwd, user, password)
        if conf is None:
            nagle = [] if not nodelay or _sets(settings, "set_tcp_nodelay") else [NODELAY]
            conf = self._conf_text(persistence, max_queued, [*nagle, *settings])
        if os.geteuid() == 0:
            # As root Mosquitto drops to the `mosquitto` user, which can write neither its
            # persistence file nor its log in a root-owned temp dir: a restart would then
            # lose every queued message, without a word.
            conf += "user root\n"
        self.conf.write_text(conf, encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None

    def _conf_text(
        self, persistence: bool, max_queued: tuple[int, int], settings: Sequence[str]
    ) -> str:
        lines = ["per_listener_settings true"] if len(self.listeners) > 1 else []
        for listener in self.listeners:
            lines += listener.conf_lines(self.passwd)
        lines += [
            f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
            f"max_queued_messages {max_queued[0]}",
            f"max_queued_bytes {max_queued[1]}",
            "persistent_client_expiration 7d",
        ]
        if persistence:
            lines += ["persistence true", f"persistence_location {self.dir}/"]
            if not any(s.startswith("autosave_") for s in settings):
                lines.append("autosave_interval 1")
        else:
            lines.append("persistence false")
        lines += [f"log_dest file {self.log}", "log_type error", "log_type warning"]
        lines += ["log_type notice", *settings]
        return "\n".join(lines) + "\n"

    @property
    def url(self) -> str:
        return self.listeners[0].url

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _failed(self, what: str) -> EdgeError:
        return EdgeError(f"{self.name}: mosquitto {what}; {self.log}:\n{self.log_text()[-2000:]}")

    def start(self, timeout_s: float = 10.0) -> None:
        """Start it and wait until every listener accepts connections (EdgeError if not)."""
        if self.running:
            return
        # Only a prctl call runs in the child (its own session: see the class).
        preexec = _exit_with_parent() if self.own_session else None
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(self.exe), "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=self.own_session,
                preexec_fn=preexec,  # noqa: PLW1509
            )
        waiting = list(self.listeners)
        deadline = time.monotonic() + timeout_s
        while waiting and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise self._failed("exited at start")
            if port_in_use(waiting[0].port, waiting[0].host):
                waiting.pop(0)
            else:
                time.sleep(0.05)
        if waiting:
            self.kill()  # never leave a broker behind
            raise self._failed(f"did not listen on {waiting[0].host}:{waiting[0].port}")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (it saves its persistence file), SIGKILL if it hangs; safe twice."""
        processes.terminate(self.proc, timeout_s)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: a power cut, as far as the broker can tell (nothing saved)."""
        processes.kill(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
