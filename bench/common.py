"""What the hub benchmarks share: private brokers, the hub process, /proc readings, the
machine's description, tables and JSON results.

Everything talks to 127.0.0.1 on free ports; port 1883 (a broker that is not ours) is
never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HALL_ID = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    if port == 1883:  # never, but a free port picker must not hand out the machine's broker
        return free_port()
    return port


# -- brokers -------------------------------------------------------------------------------
class Broker:
    """A private Mosquitto on a free loopback port. Queue limits are set on purpose: the
    default (1000 queued QoS 1 messages) silently drops to a slow subscriber."""

    def __init__(self, folder: Path, name: str) -> None:
        self.dir = folder / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "max_queued_messages 0",
            "max_queued_bytes 0",
            "max_inflight_messages 1000",
            "persistence false",
            f"log_dest file {self.dir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        conf = self.dir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start on {self.port}")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# -- the hub -------------------------------------------------------------------------------
def write_hub_config(
    folder: Path,
    hall_url: str,
    cloud_url: str,
    devices: int = 10,
    cloud: Sequence[str] = (),
    store: Sequence[str] = (),
    sections: Sequence[str] = (),
    hall_id: str = HALL_ID,
) -> Path:
    """A hall.toml with `devices` generic-MQTT devices dev-0..dev-N; extra lines for the
    [cloud] and [store] sections, and whole extra `sections` (e.g. "[rules]", "enabled = false")."""
    lines = [
        "[hall]",
        f'id = "{hall_id}"',
        "[hall_broker]",
        f'url = "{hall_url}"',
        "[cloud]",
        f'url = "{cloud_url}"',
        "backoff_min_s = 0.2",
        "backoff_max_s = 2.0",
        *cloud,
        "[store]",
        'path = "hall.db"',
        *store,
        *sections,
    ]
    for i in range(devices):
        lines += ["[[devices]]", f'id = "dev-{i}"', 'profile = "generic-mqtt"']
    path = folder / "hall.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class HubRun:
    """`hall-edge run` as a child process (optionally under cProfile), with its log."""

    def __init__(self, config: Path, profile_to: Path | None = None) -> None:
        self.config = config
        self.log = config.parent / "hub.log"
        self.profile_to = profile_to
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self) -> None:
        prefix = [sys.executable]
        if self.profile_to is not None:
            prefix += ["-m", "cProfile", "-o", str(self.profile_to)]
        self.started = time.monotonic()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*prefix, "-m", "edge.cli", "run", "-c", str(self.config)],
                cwd=self.config.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_log(self, *markers: str, timeout: float = 60.0) -> float:
        """Seconds from start until every marker is in the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if all(m in text for m in markers):
                return time.monotonic() - self.started
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"hub exited:\n{text[-3000:]}")
            time.sleep(0.005)
        raise RuntimeError(f"hub log lacks {markers}:\n{self.log.read_text()[-3000:]}")

    def wait_connected(self, timeout: float = 60.0) -> float:
        return self.wait_log("hall broker: connected", "cloud: connected", timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def outbox_count(db: Path) -> int:
    """Events the hub's journal still holds for the cloud (read-only, beside the writer)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        conn.close()


# -- /proc ---------------------------------------------------------------------------------
def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (kB) and context switches of a process."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
            out[key] = int(value.split()[0])
    return out


def wakeups(pid: int) -> int:
    """Context switches of every thread of a process (each one a wake-up or a preemption)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split(":")[1])
    return total


def rss_mb(pid: int) -> float:
    return proc_status(pid)["VmRSS"] / 1024


def cpu_s(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# -- the machine and the results -----------------------------------------------------------
def machine() -> dict[str, Any]:
    """Where the figures come from: cores, memory, CPU model, load, versions."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    free = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout
    mem = next((ln.split()[1] for ln in free.splitlines() if ln.startswith("Mem:")), "?")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    mosq = subprocess.run([exe, "-h"], capture_output=True, text=True, check=False).stdout
    return {
        "commit": _commit(),
        "nproc": os.cpu_count(),
        "memory": mem,
        "cpu": model,
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "mosquitto": mosq.splitlines()[0] if mosq else "?",
        "kernel": platform.release(),
    }


def _commit() -> str:
    """The hub code measured: HEAD, and "+changes" when edge/ differs from it (read-only git)."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)

    head = git("rev-parse", "--short", "HEAD").stdout.strip() or "?"
    dirty = git("diff", "--quiet", "HEAD", "--", "edge").returncode != 0
    return head + (" +changes" if dirty else "")


def loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwrote {path.relative_to(ROOT)}")
    return path
