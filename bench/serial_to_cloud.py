"""Serial device -> cloud: key presses on a simulated RS-485 bus to a cloud MQTT subscriber.

Run: .venv/bin/python bench/serial_to_cloud.py [--callers 8] [--presses 300]

Path measured: simulated callers on a pty (real DL/T645 bytes, each press resent until
acknowledged) -> the bus driver (framer, converter) -> a minimal journal (SQLite WAL, one
transaction per batch, synchronous=FULL) -> ack frame after the commit -> QoS 1 publish of a
CloudEvents-style envelope to a private Mosquitto -> a subscriber standing in for the cloud.
The hub's own journal and uplink are not used (they are another part of the tree): this
stands in for them with the same guarantees, to show what the device layer adds.

Baseline, measured in the same run: the same journal -> broker -> subscriber path fed with
events made in-process (no serial line, no driver), so the ratio is the device layer's cost.
Each caller waits for the ack of a press before the next one, as the real firmware does.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config.hub import DeviceSection
from edge.drivers.hotplug import PortWatcher
from edge.drivers.profiles import load_profiles
from edge.drivers.registry import DriverEnv, build_drivers
from edge.model import Event
from edge.sim.counter import BusSim, CallerSim
from edge.sim.ports import PtyLink


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
        "max_inflight_messages 1000\n"
    )
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen(
        [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


class Cloud:
    """The cloud's subscriber: counts envelopes and their latency since journaling."""

    def __init__(self, port: int) -> None:
        self.received = 0
        self.latencies: list[float] = []
        self.done = threading.Event()
        self.expected = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-cloud")
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe("halls/bench/events/#", qos=1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        ready.wait(5)

    def _message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        envelope = msgspec.json.decode(msg.payload)
        self.latencies.append(time.perf_counter() - envelope["t"])
        self.received += 1
        if self.received >= self.expected:
            self.done.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class BenchHub:
    """A HubPort with a group-committing SQLite journal and a QoS 1 uplink."""

    def __init__(self, db: Path, broker_port: int, batch_s: float = 0.005) -> None:
        self.db = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE journal (seq INTEGER PRIMARY KEY, type TEXT, device TEXT, data TEXT)"
        )
        self.pending: list[tuple[Event, Callable[[], None] | None, float]] = []
        self.batch_s = batch_s
        self.seq = 0
        self.uplink = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-hub")
        self.uplink.max_inflight_messages_set(100)
        self.uplink.connect("127.0.0.1", broker_port)
        self.uplink.loop_start()
        self._flusher: asyncio.Task[None] | None = None

    def submit(self, event: Event, on_committed: Callable[[], None] | None = None) -> None:
        self.pending.append((event, on_committed, time.perf_counter()))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.batch_s)  # group commit: whatever arrived meanwhile
        batch, self.pending = self.pending, []
        rows = []
        for event, _, _ in batch:
            self.seq += 1
            rows.append(
                (
                    self.seq,
                    event.type,
                    event.device_id,
                    msgspec.json.encode(dict(event.data)).decode(),
                )
            )
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO journal VALUES (?, ?, ?, ?)", rows)
        self.db.execute("COMMIT")
        for (event, committed, t), (seq, *_) in zip(batch, rows, strict=True):
            if committed is not None:
                committed()  # the serial ack goes out now
            envelope = {
                "specversion": "1.0",
                "type": event.type,
                "hallseq": seq,
                "data": dict(event.data),
                "t": t,
            }
            self.uplink.publish(
                f"halls/bench/events/{event.type.replace('.', '/')}",
                msgspec.json.encode(envelope),
                qos=1,
            )

    def dead_letter(self, device_id: str, raw: bytes, where: str, reason: str) -> None:
        print(f"dead letter from {device_id}: {reason}", file=sys.stderr)

    def set_online(self, device_id: str, online: bool, reason: str = "") -> None:
        pass

    def log_error(self, device_id: str, message: str) -> None:
        print(f"error {device_id}: {message}", file=sys.stderr)

    def close(self) -> None:
        self.uplink.disconnect()
        self.uplink.loop_stop()
        self.db.close()


async def serial_run(
    hub: BenchHub, cloud: Cloud, callers: int, presses: int
) -> tuple[float, float]:
    """(events/s end to end, mean device round trip in ms) through the bus driver."""
    link = PtyLink()
    bus = BusSim(link.port)
    sims = [CallerSim(bus, a) for a in range(1, callers + 1)]
    devices = [
        DeviceSection(
            id=f"caller-{a}",
            profile="counter-caller-485",
            settings={"port": link.path, "address": a},
        )
        for a in range(1, callers + 1)
    ]
    drivers = build_drivers(
        devices, load_profiles(), hub, env=DriverEnv(watcher=PortWatcher(use_udev=False))
    )
    serving = asyncio.create_task(bus.run())
    running = [asyncio.create_task(d.run()) for d in drivers.values()]
    await asyncio.sleep(0.3)
    cloud.expected, cloud.received, cloud.done = callers * presses, 0, threading.Event()
    round_trips: list[float] = []

    async def clerk(sim: CallerSim) -> None:
        for _ in range(presses):
            t = time.perf_counter()
            assert await sim.press("call_next")
            round_trips.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(clerk(s) for s in sims))
    await asyncio.to_thread(cloud.done.wait, 30)
    elapsed = time.perf_counter() - t0
    for task in [*running, serving]:
        task.cancel()
    await asyncio.gather(*running, serving, return_exceptions=True)
    link.unplug()
    return cloud.received / elapsed, statistics.mean(round_trips) * 1000


async def baseline_run(hub: BenchHub, cloud: Cloud, callers: int, presses: int) -> float:
    """Events/s when the same events are submitted in-process, each after the last's commit."""
    cloud.expected, cloud.received, cloud.done = callers * presses, 0, threading.Event()

    async def clerk(a: int) -> None:
        for i in range(presses):
            committed = asyncio.Event()
            data = {
                "counter": a,
                "action": "call_next",
                "to_counter": None,
                "press_id": f"caller-{a}:{i}",
            }
            hub.submit(Event("counter.action", f"caller-{a}", data), committed.set)
            await committed.wait()

    t0 = time.perf_counter()
    await asyncio.gather(*(clerk(a) for a in range(1, callers + 1)))
    await asyncio.to_thread(cloud.done.wait, 30)
    return cloud.received / (time.perf_counter() - t0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=16)
    # At most 255: a caller numbers its presses 0-255 and the driver takes a repeat of a
    # number within its 10 s window for a resend (no clerk presses 256 keys in 10 s).
    parser.add_argument("--presses", type=int, default=200, help="per caller (at most 255)")
    args = parser.parse_args()
    if not 1 <= args.presses <= 255:
        parser.error("--presses must be from 1 to 255")
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_broker(Path(tmp))
        cloud = Cloud(port)
        try:
            base = BenchHub(Path(tmp) / "base.db", port)
            base_eps = await baseline_run(base, cloud, args.callers, args.presses)
            base.close()
            cloud.latencies.clear()
            hub = BenchHub(Path(tmp) / "serial.db", port)
            serial_eps, rtt_ms = await serial_run(hub, cloud, args.callers, args.presses)
            lat = sorted(cloud.latencies)
            hub.close()
        finally:
            cloud.close()
            proc.terminate()
            proc.wait()
    n = args.callers * args.presses
    print(
        f"{args.callers} callers x {args.presses} presses = {n} events; "
        "journal SQLite WAL synchronous=FULL, 5 ms group commit"
    )
    print(f"{'run':<34}{'events/s':>10}{'vs baseline':>13}")
    print(f"{'baseline: in-process submit':<34}{base_eps:>10,.0f}{1.0:>12.2f}x")
    print(
        f"{'serial: pty -> driver -> cloud':<34}{serial_eps:>10,.0f}{serial_eps / base_eps:>12.2f}x"
    )
    print(f"press round trip (send -> ack after commit): mean {rtt_ms:.1f} ms")
    p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99)]
    print(
        f"serial run, journal -> cloud subscriber latency: "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
