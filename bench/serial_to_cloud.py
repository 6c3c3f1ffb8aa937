"""Serial device -> cloud through the real hub: key presses on a simulated RS-485 bus.

Run: .venv/bin/python bench/serial_to_cloud.py [--callers 16] [--presses 50] [--rounds 5]

The hub is the real one, built in-process by `edge.hub.build.build_hub` from a hall.toml
(as tests/hub/test_queue_flow.py does): its journal (SQLite WAL, group commit, the default
synchronous=full), the default rule pack, its uplink at QoS 1 to a private cloud Mosquitto,
and a second private Mosquitto as the hall broker, both on free loopback ports. The queue
manager is off (no [queue] services): a press is journaled and forwarded as
`counter.action`, nothing more.

Serial path: callers on one pty pair (real DL/T645 bytes, each press resent until echoed)
-> the hub's bus driver -> journal -> echo frame after the commit; uplink -> a subscriber
standing in for the cloud. Each caller waits for the echo of a press before the next one,
as the firmware does. A pty has no baud rate: a real 9600-baud bus carries ~70 frames/s.
Baseline, same hub, same run: as many MQTT terminals on the generic convention as callers
publish the same `counter.action` events at QoS 1 on the hall broker; each waits for its
event to come back on `hall/events/...` (which the hub publishes after the commit) before
the next. Both simulators run on the hub's event loop. The two paths alternate in rounds
(each goes first every other round); the figures pool the rounds.

Figures per path: events/s (first press to the last event at the cloud subscriber); ack
latency p50/p99 (press -> echo frame, or publish -> own event back from the hub); device
-> journal (press -> the commit, seen by a service added to the hub); journal -> cloud
(the commit -> the subscriber). The ratio is serial events/s over baseline events/s.
Prints a table and writes bench/results/serial_to_cloud.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import tempfile
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import HubConfig, load
from edge.demo.brokers import start_brokers
from edge.hub.app import Hub
from edge.hub.build import build_hub
from edge.model import JournaledEvent, Output
from edge.mqttio import LinkOptions, MqttLink
from edge.sim.counter import BusSim, CallerSim
from edge.sim.hall_config import write_hall_toml
from edge.sim.hall_links import HallLinks, open_hall_links
from edge.sim.mosquitto import Mosquitto

HALL_ID = "bench"
EVENT_TYPE = "counter.action"
EVENT_PATH = "counter/action"
RESULT = Path(__file__).resolve().parent / "results" / "serial_to_cloud.json"
BASELINE = "baseline: MQTT terminal (generic)"
SERIAL = "serial: caller on RS-485 pty"
WAIT_S = 30.0  # for the last events to reach the cloud, and for a terminal's echo


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of `values` (q from 0 to 1)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class CommitClock:
    """A hub service that notes when each `counter.action` was committed (by hallseq)."""

    name = "bench-commit-clock"

    def __init__(self) -> None:
        self.at: dict[int, tuple[str, float]] = {}

    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        if event.type == EVENT_TYPE:
            self.at[event.seq] = (event.device_id, time.perf_counter())
        return ()

    def tick(self, now: datetime) -> Sequence[Output]:
        return ()

    def since(self, t0: float, devices: set[str]) -> dict[int, float]:
        """Commit times of the events of `devices` committed after t0."""
        return {s: t for s, (d, t) in self.at.items() if d in devices and t >= t0}


class Cloud:
    """The cloud's subscriber (its own paho thread): arrival time of each hallseq."""

    def __init__(self, port: int) -> None:
        self.arrived: dict[int, float] = {}
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-cloud")
        ready = threading.Event()
        topic = f"halls/{HALL_ID}/events/{EVENT_PATH}"
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not ready.wait(10):
            self.close()
            raise RuntimeError("the cloud subscriber did not subscribe")

    def _message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        seq = int(msgspec.json.decode(msg.payload)["hallseq"])
        with self._lock:
            self.arrived.setdefault(seq, now)  # at least once: the first copy counts

    def times(self, seqs: Sequence[int]) -> dict[int, float]:
        with self._lock:
            return {s: self.arrived[s] for s in seqs if s in self.arrived}

    async def wait_for(self, seqs: Sequence[int]) -> dict[int, float]:
        """Arrival times of all of `seqs`; RuntimeError if some do not come within WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while len(got := self.times(seqs)) < len(seqs):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(seqs) - len(got)} events never reached the cloud")
            await asyncio.sleep(0.05)
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


Press = tuple[float, float]  # (sent, acknowledged), perf_counter seconds


@dataclass
class Figures:
    """One path's measures, pooled over the rounds."""

    name: str
    events: int = 0
    elapsed_s: float = 0.0
    commits: int = 0
    acks: list[float] = field(default_factory=list)
    to_journal: list[float] = field(default_factory=list)
    to_cloud: list[float] = field(default_factory=list)
    per_round: list[float] = field(default_factory=list)  # events/s

    @property
    def events_per_s(self) -> float:
        return self.events / self.elapsed_s

    def as_json(self) -> dict[str, Any]:
        def p50_p99(values: Sequence[float]) -> dict[str, float]:
            return {
                "p50": round(percentile(values, 0.5) * 1000, 2),
                "p99": round(percentile(values, 0.99) * 1000, 2),
            }

        return {
            "events": self.events,
            "elapsed_s": round(self.elapsed_s, 3),
            "events_per_s": round(self.events_per_s, 1),
            "events_per_s_per_round": [round(v, 1) for v in self.per_round],
            "ack_ms": p50_p99(self.acks),
            "device_to_journal_ms": p50_p99(self.to_journal),
            "journal_to_cloud_ms": p50_p99(self.to_cloud),
            "commits": self.commits,
            "rows_per_commit": round(self.events / max(1, self.commits), 2),
        }


async def measure(
    hub: Hub,
    clock: CommitClock,
    cloud: Cloud,
    clerks: Mapping[str, Coroutine[Any, Any, list[Press]]],
    into: Figures,
) -> None:
    """Run the clerks (one per device id, each returning its presses) until the cloud has
    every event; a device's n-th press is its n-th event journaled (no resend is journaled)."""
    commits0 = hub.pipeline.batches
    t0 = time.perf_counter()
    presses = dict(zip(clerks, await asyncio.gather(*clerks.values()), strict=True))
    commits = hub.pipeline.batches - commits0
    committed = clock.since(t0, set(clerks))
    arrived = await cloud.wait_for(sorted(committed))
    events = 0
    for device_id, sent in presses.items():
        seqs = sorted(s for s in committed if clock.at[s][0] == device_id)
        if len(seqs) != len(sent):
            raise RuntimeError(
                f"{device_id}: {len(sent)} presses acknowledged, {len(seqs)} journaled"
            )
        for (t_sent, t_acked), seq in zip(sent, seqs, strict=True):
            into.acks.append(t_acked - t_sent)
            into.to_journal.append(committed[seq] - t_sent)
            into.to_cloud.append(arrived[seq] - committed[seq])
        events += len(sent)
    elapsed = max(arrived.values()) - t0
    into.events += events
    into.elapsed_s += elapsed
    into.commits += commits
    into.per_round.append(events / elapsed)


class Callers:
    """Counter callers on one simulated RS-485 bus (the pty the hub's bus driver opens)."""

    def __init__(self, links: HallLinks, count: int) -> None:
        self.bus = BusSim(links.bus.port)
        self.sims = [CallerSim(self.bus, a) for a in range(1, count + 1)]
        self._serving: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._serving = asyncio.create_task(self.bus.run())
        # The first press of each caller also waits for the driver to have the port open.
        for sim in self.sims:
            if not await sim.press("call_next"):
                raise RuntimeError(f"caller {sim.address}: no echo from the hub")

    def clerks(self, presses: int) -> dict[str, Coroutine[Any, Any, list[Press]]]:
        """One clerk per caller: `presses` key presses, each after the echo of the last."""

        async def clerk(sim: CallerSim) -> list[Press]:
            out: list[Press] = []
            for _ in range(presses):
                t = time.perf_counter()
                if not await sim.press("call_next"):
                    raise RuntimeError(f"caller {sim.address}: press never acknowledged")
                out.append((t, time.perf_counter()))
            return out

        return {f"caller-{sim.address}": clerk(sim) for sim in self.sims}

    async def close(self) -> None:
        if self._serving is not None:
            self._serving.cancel()
            await asyncio.gather(self._serving, return_exceptions=True)


class Terminals:
    """MQTT terminals on the hub's generic convention, and an observer of `hall/events`."""

    def __init__(self, hall_url: str, count: int) -> None:
        self.url = hall_url
        self.ids = [f"terminal-{a}" for a in range(1, count + 1)]
        self.links: dict[str, MqttLink] = {}
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.rounds = 0

    def _echo(self, msg: mqtt.MQTTMessage) -> None:
        press_id = msgspec.json.decode(msg.payload).get("data", {}).get("press_id")
        future = self.waiting.pop(str(press_id), None)
        if future is not None and not future.done():
            future.set_result(None)

    async def open(self) -> None:
        observer = MqttLink(
            LinkOptions(self.url, "bench-observer", mqtt5=False), on_message=self._echo
        )
        await observer.connect()
        observer.subscribe([(f"hall/events/{EVENT_PATH}", 0)])
        self.links["bench-observer"] = observer
        for device_id in self.ids:
            link = MqttLink(LinkOptions(self.url, device_id, mqtt5=False))
            await link.connect()
            self.links[device_id] = link
        # A warm-up press each, tried again until the observer's subscription is in place.
        for n, device_id in enumerate(self.ids, 1):
            for attempt in range(5):
                try:
                    await self.press(device_id, n, f"{device_id}:warm-up-{attempt}", 2.0)
                    break
                except TimeoutError:
                    if attempt == 4:
                        raise RuntimeError(f"{device_id}: no event back on hall/events") from None

    async def press(self, device_id: str, counter: int, press_id: str, wait_s: float) -> None:
        """Publish one key press and wait until the hub publishes it back after the commit."""
        future = asyncio.get_running_loop().create_future()
        self.waiting[press_id] = future
        body = {
            "id": press_id,
            "counter": counter,
            "action": "call_next",
            "to_counter": None,
            "press_id": press_id,
        }
        topic = f"hall/devices/{device_id}/events/{EVENT_PATH}"
        self.links[device_id].publish(topic, msgspec.json.encode(body), qos=1)
        try:
            await asyncio.wait_for(future, wait_s)
        finally:
            self.waiting.pop(press_id, None)

    def clerks(self, presses: int) -> dict[str, Coroutine[Any, Any, list[Press]]]:
        """One clerk per terminal: `presses` events, each after the last came back."""
        self.rounds += 1
        r = self.rounds

        async def clerk(n: int, device_id: str) -> list[Press]:
            out: list[Press] = []
            for i in range(presses):
                press_id = f"{device_id}:{r}:{i}"
                t = time.perf_counter()
                try:
                    await self.press(device_id, n, press_id, WAIT_S)
                except TimeoutError:
                    raise RuntimeError(f"{press_id}: never came back on hall/events") from None
                out.append((t, time.perf_counter()))
            return out

        return {device_id: clerk(n, device_id) for n, device_id in enumerate(self.ids, 1)}

    async def close(self) -> None:
        for link in self.links.values():
            await link.close()


def write_config(folder: Path, hall: Mosquitto, cloud: Mosquitto, links: HallLinks) -> Path:
    """A hall.toml with the callers and the terminals; no [queue] (so no queue manager)."""
    callers = [d for d in links.devices() if str(d["id"]).startswith("caller-")]
    terminals = [
        {"id": f"terminal-{a}", "profile": "generic-mqtt", "name": f"{a}号窗口终端", "settings": {}}
        for a in range(1, len(callers) + 1)
    ]
    tables = {
        "hall": {"id": HALL_ID},
        "hall_broker": {"url": hall.url},
        "cloud": {"url": cloud.url},
        "store": {"path": "hall.db"},
    }
    return write_hall_toml(folder / "hall.toml", tables, callers + terminals)


async def run_hub(
    cfg: HubConfig, links: HallLinks, hall_url: str, cloud: Cloud, args: argparse.Namespace
) -> tuple[Figures, Figures]:
    """Both paths through one hub, in interleaved rounds (each goes first every other round),
    so that what else the machine does weighs on both alike."""
    clock = CommitClock()
    hub = await build_hub(cfg)
    hub.fanout.services.append(clock)
    hub_task = asyncio.create_task(hub.run())
    terminals = Terminals(hall_url, args.callers)
    callers = Callers(links, args.callers)
    base, serial = Figures(BASELINE), Figures(SERIAL)
    try:
        await asyncio.wait_for(hub.hall.connected.wait(), 15)
        await terminals.open()
        await callers.open()
        await cloud.wait_for(sorted(clock.at))  # the warm-up reached the cloud: all connected
        for r in range(args.rounds):
            runs: list[tuple[Terminals | Callers, Figures]] = [(terminals, base), (callers, serial)]
            for source, into in runs if r % 2 == 0 else runs[::-1]:
                await measure(hub, clock, cloud, source.clerks(args.presses), into)
        return base, serial
    finally:
        await callers.close()
        await terminals.close()
        hub.stop()
        await hub_task


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--callers", type=int, default=16, help="from 2 to 99")
    parser.add_argument("--presses", type=int, default=50, help="per caller and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not 2 <= args.callers <= 99:
        parser.error("--callers must be from 2 to 99")
    # A caller numbers its presses 0-255 and the driver takes a repeat of a number within
    # its 10 s window for a resend: with the warm-up press, 254 presses per caller at most.
    if args.presses < 1 or args.rounds < 1 or args.presses * args.rounds > 254:
        parser.error("--presses x --rounds must be from 1 to 254")
    # force: python-escpos (imported with the printer driver) configures logging itself.
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", force=True
    )

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hall, cloud_broker = start_brokers(folder / "brokers")
        links: HallLinks | None = None
        cloud: Cloud | None = None
        try:
            links = open_hall_links(counters=args.callers)
            cfg = load(write_config(folder, hall, cloud_broker, links))
            cloud = Cloud(cloud_broker.port)
            base, serial = asyncio.run(run_hub(cfg, links, hall.url, cloud, args))
        finally:
            if cloud is not None:
                cloud.close()
            if links is not None:
                links.close()
            hall.stop()
            cloud_broker.stop()

    report(args, cfg, base, serial)


def report(args: argparse.Namespace, cfg: HubConfig, base: Figures, serial: Figures) -> None:
    sync = cfg.store.synchronous
    ratio = serial.events_per_s / base.events_per_s
    per_round = [s / b for s, b in zip(serial.per_round, base.per_round, strict=True)]
    print(
        f"{args.callers} devices per path x {args.presses} presses x {args.rounds} rounds = "
        f"{serial.events} events per path; real hub: journal synchronous={sync}, "
        "default rules, no queue manager"
    )
    cols = ("events/s", "ratio", "ack", "dev->journal", "journal->cloud", "rows/commit")
    print(f"{'path (latencies p50 / p99 ms)':<34}" + "".join(f"{c:>15}" for c in cols))
    for run in (base, serial):
        fig = run.as_json()
        cells = [
            f"{run.events_per_s:,.0f}",
            f"{run.events_per_s / base.events_per_s:.2f}x",
            *(
                f"{fig[k]['p50']:.1f} / {fig[k]['p99']:.1f}"
                for k in ("ack_ms", "device_to_journal_ms", "journal_to_cloud_ms")
            ),
            f"{fig['rows_per_commit']:.1f}",
        ]
        print(f"{run.name:<34}" + "".join(f"{c:>15}" for c in cells))
    print(f"ratio per round: {', '.join(f'{r:.2f}' for r in per_round)}")
    print(
        "ack: serial = press -> echo frame (sent after the commit); baseline = publish -> "
        "the event back on hall/events (published after the commit)"
    )
    result = {
        "bench": "serial_to_cloud",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "devices_per_path": args.callers,
        "presses_per_device_and_round": args.presses,
        "rounds": args.rounds,
        "journal_synchronous": sync,
        "paths": {"baseline_mqtt_generic": base.as_json(), "serial_caller_485": serial.as_json()},
        "ratio_events_per_s_serial_to_baseline": round(ratio, 3),
        "ratio_per_round": [round(r, 3) for r in per_round],
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
