"""The hall broker's power-cut window: what devices had PUBACKed that the hub never journaled.

Run: .venv/bin/python bench/broker_powercut.py [--trials 2] [--seconds-slow 6] [--seconds-fast 3]

Mosquitto acknowledges a device's QoS 1 message on receipt and keeps it in memory; its
persistence file is a snapshot (`autosave_interval` seconds, or with `autosave_on_changes`
every `autosave_interval` changes). A power cut loses what it held that is in neither the
snapshot nor the hub's journal. SIGKILL stands in for the cut, right after the devices got
their PUBACKs (publishing stops, the last PUBACK arrives, then the kill), at 10 and
1,000 events/s, for each broker setting:

- `box`: the hub box loses power: the broker **and** the hub are SIGKILLed together;
  both restart (the broker from its file), and the journal is read after the hub drained.
- `hub away`: the hub is not running (restarting, or stopped for an upgrade) while the
  devices publish, so everything waits in the broker for the hub's session; then the
  broker is SIGKILLed: the worst case, bounded by the snapshot alone.

Lost = events PUBACKed to the device and absent from the journal after the restart.
Broker CPU = the broker's utime+stime while the devices publish (with the hub connected in
`box`), per 1,000 events and as a share of one core; the baseline is today's setting
(`autosave_interval 5`) in the same run. Prints the table and writes
bench/results/broker_powercut.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as paho
from common import HubRun, cpu_s, machine, print_table, save, started_broker, write_hub_config
from paho.mqtt.enums import CallbackAPIVersion

from edge.sim.mosquitto import Mosquitto

SETTINGS: dict[str, list[str]] = {
    "interval 5 s (today)": ["autosave_interval 5"],
    "on changes, every 100": ["autosave_on_changes true", "autosave_interval 100"],
    "on changes, every 10": ["autosave_on_changes true", "autosave_interval 10"],
    "on changes, every 1": ["autosave_on_changes true", "autosave_interval 1"],
}
TOPIC = "hall/devices/dev-0/events/rating/submitted"


def hall_broker(folder: Path, setting: list[str]) -> Mosquitto:
    """A private Mosquitto with persistence in its own folder, restartable on one port, with
    the shipped hall broker's queue limits and the persistence `setting` under test."""
    return Mosquitto(folder, max_queued=(200_000, 268_435_456), settings=setting)


class Devices:
    """The hall's devices as one QoS 1 publisher: paced, flow-controlled, PUBACKs counted."""

    def __init__(self, url: str) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="powercut-devices")
        self.client.max_inflight_messages_set(100)
        self.lock = threading.Lock()
        self.pending: dict[int, int] = {}  # mid -> event number
        self.early: set[int] = set()  # PUBACKs that came before publish() returned the mid
        self.acked: set[int] = set()
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", int(url.rsplit(":", 1)[1]))
        self.client.loop_start()

    def _on_publish(self, _c: Any, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        with self.lock:
            n = self.pending.pop(mid, None)
            if n is None:
                self.early.add(mid)
            else:
                self.acked.add(n)

    def publish(self, rate: float, seconds: float, start: int) -> int:
        """Events start.. at `rate` for `seconds`; returns the next number."""
        t0 = time.monotonic()
        n = start
        total = int(rate * seconds)
        for k in range(total):
            delay = t0 + k / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body = json.dumps({"id": f"e{n}", "n": n, "level": 4, "counter": 1}).encode()
            # Not under self.lock: paho calls on_publish holding its own lock, and taking
            # the two in opposite orders on two threads deadlocks.
            info = self.client.publish(TOPIC, body, qos=1)
            with self.lock:
                if info.mid in self.early:
                    self.early.discard(info.mid)
                    self.acked.add(n)
                else:
                    self.pending[info.mid] = n
            n += 1
        return n

    def wait_acked(self, timeout: float = 15.0) -> int:
        """Until every PUBACK is in; returns how many are still missing after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    return 0
            time.sleep(0.001)
        with self.lock:
            return len(self.pending)

    def close(self) -> None:
        self.client.loop_stop()
        with contextlib.suppress(Exception):
            self.client.disconnect()


def journaled(db: Path) -> set[int]:
    if not db.exists():
        return set()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute("SELECT envelope FROM journal WHERE type='rating.submitted'")
        return {int(json.loads(r[0])["data"]["n"]) for r in rows}
    finally:
        conn.close()


def wait_settled(db: Path, want: set[int], timeout: float = 20.0) -> set[int]:
    """The journal's event numbers once it has them all, or has not grown for 2 s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    got: set[int] = set()
    while time.monotonic() < deadline:
        got = journaled(db)
        if want <= got:
            return got
        if len(got) != last:
            last, since = len(got), time.monotonic()
        elif time.monotonic() - since > 2.0:
            return got
        time.sleep(0.1)
    return got


@dataclass
class Trial:
    acked: int
    lost: int
    broker_cpu_s: float
    seconds: float
    stalled: int = 0  # PUBACKs still missing 15 s after the last publish (broker saturated)


def trial(
    folder: Path, setting: list[str], scenario: str, rate: float, seconds: float, cloud_url: str
) -> Trial:
    broker = hall_broker(folder / "hall-broker", setting)
    broker.start()
    cfg = write_hub_config(
        folder, broker.url, cloud_url, devices=1, tables={"rules": {"enabled": False}}
    )
    db = folder / "hall.db"
    hub = HubRun(cfg)
    hub.start()
    hub.wait_connected()  # the hub's persistent session exists from here on
    devices = Devices(broker.url)
    try:
        if scenario == "hub away":
            assert hub.proc is not None
            hub.proc.send_signal(signal.SIGKILL)
            hub.proc.wait()
        # Publish a little first, so the kill lands at some phase of the autosave period.
        warm = devices.publish(rate, 1.0, 0)
        devices.wait_acked()
        assert broker.pid is not None
        cpu0, t0 = cpu_s(broker.pid), time.monotonic()
        devices.publish(rate, seconds, warm)
        stalled = devices.wait_acked()
        cpu1, t1 = cpu_s(broker.pid), time.monotonic()
        # The power cut: right after the last PUBACK.
        broker.kill()
        if hub.proc is not None and hub.proc.poll() is None:
            hub.proc.send_signal(signal.SIGKILL)
            hub.proc.wait()
        acked = set(devices.acked)
        devices.close()
        broker.start()
        hub.start()
        hub.wait_connected()
        got = wait_settled(db, acked)
    finally:
        devices.close()
        hub.stop()
        broker.stop()
    return Trial(len(acked), len(acked - got), cpu1 - cpu0, t1 - t0, stalled)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--seconds-slow", type=float, default=6.0, help="publishing at 10 ev/s")
    ap.add_argument("--seconds-fast", type=float, default=3.0, help="publishing at 1,000 ev/s")
    ap.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    args = ap.parse_args()
    rates = ((10.0, args.seconds_slow), (1000.0, args.seconds_fast))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="powercut-") as tmp:
        cloud = started_broker(Path(tmp), "cloud")
        try:
            for name in args.settings:
                for scenario in ("box", "hub away"):
                    for rate, seconds in rates:
                        runs = []
                        for k in range(args.trials):
                            folder = Path(tmp) / f"{len(results)}-{k}"
                            runs.append(
                                trial(folder, SETTINGS[name], scenario, rate, seconds, cloud.url)
                            )
                        acked = sum(r.acked for r in runs)
                        lost = sum(r.lost for r in runs)
                        cpu = sum(r.broker_cpu_s for r in runs)
                        secs = sum(r.seconds for r in runs)
                        results.append(
                            {
                                "setting": name,
                                "scenario": scenario,
                                "rate": rate,
                                "trials": args.trials,
                                "acked": acked,
                                "lost": lost,
                                "lost_per_trial": [r.lost for r in runs],
                                "stalled": sum(r.stalled for r in runs),
                                "lost_s_of_traffic": round(lost / args.trials / rate, 2),
                                "broker_cpu_s": round(cpu, 3),
                                "broker_cpu_ms_per_1000": round(1e6 * cpu / max(1, acked), 1),
                                "broker_cpu_share": round(cpu / secs, 4),
                            }
                        )
                        r = results[-1]
                        print(
                            f"{name:24} {scenario:9} {rate:6.0f}/s lost {lost}/{acked} "
                            f"{r['lost_per_trial']} broker CPU {100 * r['broker_cpu_share']:.1f} %",
                            flush=True,
                        )
        finally:
            cloud.stop()
    base = {(r["scenario"], r["rate"]): r for r in results if r["setting"] == next(iter(SETTINGS))}
    rows = []
    for r in results:
        b = base.get((r["scenario"], r["rate"]))
        ratio = (
            f"{r['broker_cpu_share'] / b['broker_cpu_share']:.1f}x"
            if b and b["broker_cpu_share"] > 0
            else "-"
        )
        rows.append(
            [
                r["setting"],
                r["scenario"],
                f"{r['rate']:.0f}",
                f"{r['lost']}/{r['acked']}"
                + (f" ({r['stalled']} never acked)" if r["stalled"] else ""),
                " ".join(map(str, r["lost_per_trial"])),
                f"{r['lost_s_of_traffic']:.2f}",
                f"{100 * r['broker_cpu_share']:.1f} %",
                ratio,
            ]
        )
    print_table(
        "hall broker SIGKILLed right after the PUBACKs (lost = PUBACKed, never journaled)",
        [
            "setting",
            "scenario",
            "ev/s",
            "lost/acked",
            "per trial",
            "lost s of traffic",
            "broker CPU",
            "CPU vs today",
        ],
        rows,
    )
    save("broker_powercut", {"machine": machine(), "results": results})


if __name__ == "__main__":
    main()
