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
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge.sim import processes
from edge.sim.hall_config import Tables, hub_tables, write_hall_toml
from edge.sim.mosquitto import Mosquitto, mosquitto_exe

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HALL_ID = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- brokers -------------------------------------------------------------------------------
def started_broker(folder: Path, name: str) -> Mosquitto:
    """A private Mosquitto in folder/name, started, with nothing kept across a restart."""
    broker = Mosquitto(folder / name, persistence=False)
    broker.start()
    return broker


# -- the hub -------------------------------------------------------------------------------
def write_hub_config(
    folder: Path,
    hall_url: str,
    cloud_url: str,
    devices: int = 10,
    tables: Tables | None = None,
    hall_id: str = HALL_ID,
) -> Path:
    """A hall.toml with `devices` generic-MQTT devices dev-0..dev-N, the hub's defaults
    otherwise (a full fsync per batch); `tables` change or add tables, e.g.
    `{"cloud": {"protocol": "3.1.1"}, "rules": {"enabled": False}}`."""
    made = [{"id": f"dev-{i}", "profile": "generic-mqtt"} for i in range(devices)]
    tables = hub_tables(hall_url, cloud_url, hall_id, tables or {})
    return write_hall_toml(folder / "hall.toml", tables, made)


class HubRun(processes.LoggedProcess):
    """`hall-edge run` as a child process (optionally under cProfile), with its log."""

    def __init__(self, config: Path, profile_to: Path | None = None, code: Path = ROOT) -> None:
        # `code`: the checkout whose edge/ runs (another one measures a baseline build).
        prefix = [sys.executable]
        if profile_to is not None:
            prefix += ["-m", "cProfile", "-o", str(profile_to)]
        super().__init__(
            [*prefix, "-m", "edge.cli", "run", "-c", str(config)],
            config.parent / "hub.log",
            cwd=config.parent,
            env={**os.environ, "PYTHONPATH": str(code)},
        )
        self.config = config

    def start(self) -> None:
        self.launch()

    @property
    def pid(self) -> int:
        """Of the running hub (the figures read /proc/PID)."""
        assert self.proc is not None
        return self.proc.pid

    def wait_log(self, *markers: str, timeout: float = 60.0, every: float = 0.005) -> float:
        """Seconds from start until every marker is in the log."""
        return super().wait_log(*markers, timeout=timeout, every=every)

    def wait_connected(self, timeout: float = 60.0) -> float:
        return self.wait_log("hall broker: connected", "cloud: connected", timeout=timeout)

    def stop(self, timeout_s: float = 60.0) -> int:
        return super().stop(timeout_s)


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
    exe = mosquitto_exe()
    mosq = subprocess.run([str(exe), "-h"], capture_output=True, text=True, check=False).stdout
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
