"""A fleet through the 3-node RabbitMQ devcluster, through faults, with a baseline.

Run: .venv/bin/python bench/fleet.py [--halls 200] [--rate 2] [--hubs 3] [--duration 150]
     [--cut 60] [--baseline-duration 60] [--choice-events 20000]

1. Consumer choice, on the cluster: the same burst of envelopes (published QoS 1 to one
   node) into PostgreSQL through one AMQP consumer (quorum queue on amq.topic) and through
   one MQTT consumer (MQTT 3.1.1 persistent session: the plugin's quorum queue); events/s.
2. The fleet on the cluster: `--halls` simulated halls (edge/sim/fleet.py, `--rate`
   events/s each, spread over the three nodes) and `--hubs` real hall-edge hubs (each with
   its own hall Mosquitto and a device publishing ratings at 20/s) into 3 AMQP consumers
   and PostgreSQL. On the way: SIGKILL of node 1 (the consumers' queue leader, a third of
   the halls) at 20 % of the run, restarted at 60 %; SIGKILL of consumer 1 at 30 %,
   restarted 5 s later; hub 0's cloud link cut for `--cut` s from 35 %; a command to a
   simulated hall and to a real hub every 10 s. Then the checks: every event in PostgreSQL
   exactly once, no gap open, every command answered.
3. Baseline in the same run: the same fleet and hubs into one Mosquitto and one MQTT
   consumer, no faults, `--baseline-duration` s.
Figures: events/s into PostgreSQL, end-to-end latency p50/p99 (event time to the row's
commit transaction, live events only), consumer CPU per 1,000 events and peak RSS, broker
memory (RSS of the beam or mosquitto processes). Writes bench/results/fleet.json.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

import aiomqtt
import asyncpg
from common import cpu_s, machine, print_table, rss_mb, save
from pgdb import count_events, drop_db, new_db

from cloud import devcluster
from edge import envelope
from edge.sim.consumer_process import ConsumerProcess, consumers
from edge.sim.fleet import Fleet
from edge.sim.fleet_check import check, send_command
from edge.sim.mosquitto import Mosquitto
from edge.sim.real_hall import RealHall
from edge.sim.waits import settles


class Sampler:
    """CPU and peak RSS of the consumer processes (across restarts: by pid), RSS of the
    broker processes, once a second."""

    def __init__(
        self, consumers: list[ConsumerProcess], broker_pids: Callable[[], list[int]]
    ) -> None:
        self.consumers = consumers
        self.broker_pids = broker_pids  # the broker's live pids, asked at each sample
        self.cpu: dict[int, float] = {}
        self.cpu0: dict[int, float] = {}
        self.rss_peak = 0.0
        self.broker_peak = 0.0
        self.broker_last = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def sample(self) -> None:
        for k in self.consumers:
            if k.proc is None or k.proc.poll() is not None:
                continue
            pid = k.proc.pid
            try:
                c = cpu_s(pid)
                self.cpu0.setdefault(pid, c)
                self.cpu[pid] = c
                self.rss_peak = max(self.rss_peak, rss_mb(pid))
            except (OSError, KeyError):
                pass
        total = 0.0
        for pid in self.broker_pids():
            with contextlib.suppress(OSError, KeyError):
                total += rss_mb(pid)
        self.broker_last = total
        self.broker_peak = max(self.broker_peak, total)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()

    def stop(self) -> float:
        """CPU seconds of all consumers since they were first sampled."""
        self.sample()
        self._stop.set()
        self._thread.join(5)
        return sum(self.cpu[p] - self.cpu0[p] for p in self.cpu)


async def _figures(dsn: str) -> dict[str, float]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM max(received_at) - min(received_at)) AS s,"
            " percentile_cont(0.5) WITHIN GROUP"
            "   (ORDER BY extract(epoch FROM received_at - time)) FILTER (WHERE NOT resent) AS p50,"
            " percentile_cont(0.99) WITHIN GROUP"
            "   (ORDER BY extract(epoch FROM received_at - time)) FILTER (WHERE NOT resent) AS p99,"
            " count(*) FILTER (WHERE resent) AS resent"
            " FROM events"
        )
    finally:
        await conn.close()
    assert row is not None
    return {
        "rows": float(row["n"]),
        "span_s": float(row["s"] or 0),
        "p50_ms": float(row["p50"] or 0) * 1000,
        "p99_ms": float(row["p99"] or 0) * 1000,
        "resent_rows": float(row["resent"]),
    }


def _real_halls(n: int, work: Path, mqtt_urls: list[str]) -> list[RealHall]:
    """Real hubs on the nodes that stay up (a hub takes one URL; see docs/cloud.md)."""
    halls = []
    for i in range(n):
        url = mqtt_urls[1 + i % (len(mqtt_urls) - 1)] if len(mqtt_urls) > 1 else mqtt_urls[0]
        port = int(url.rsplit(":", 1)[1])
        halls.append(RealHall(f"real-{i:02d}", work / f"real-{i:02d}", port, 20.0))
    return halls


def _outbox_emptied(hub: RealHall, timeout: float) -> bool:
    """Until HUB's outbox is empty (every journaled event PUBACKed), at most TIMEOUT s."""
    return settles(lambda: hub.outbox_left() == 0, timeout, every=0.25)


def _pid(k: ConsumerProcess) -> int:
    """The running consumer's pid (the figures read /proc/PID)."""
    assert k.pid is not None, "the consumer is not started"
    return k.pid


def _median(values: list[float]) -> float | None:
    """The upper median (None for none), as the figures have always been given."""
    return sorted(values)[len(values) // 2] if values else None


def fleet_scenario(
    args: argparse.Namespace,
    work: Path,
    mqtt_urls: list[str],
    consumer_urls: list[str],
    n_consumers: int,
    broker_pids: Callable[[], list[int]],
    duration: float,
    cluster: devcluster.Cluster | None,
    consumer_extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    name, dsn = new_db()
    group = f"fleet-{secrets.token_hex(3)}"
    cons = consumers(work / "consumers", consumer_urls, dsn, n_consumers, group, *consumer_extra)
    hubs: list[RealHall] = []
    try:
        for k in cons:
            k.start(timeout=60)
        hubs += _real_halls(args.hubs, work, mqtt_urls)
        for h in hubs:
            h.start()
        fleet = Fleet.make(args.halls, mqtt_urls, rate=args.rate)
        sampler = Sampler(cons, broker_pids)
        sampler.start()
        cmd_port = int(mqtt_urls[-1].rsplit(":", 1)[1])
        commands: list[asyncio.Future[float | None]] = []
        targets: list[str] = []
        events: list[str] = []

        async def at(t0: float, when: float) -> None:
            await asyncio.sleep(max(0.0, t0 + when - time.monotonic()))

        async def faults(t0: float) -> None:
            assert cluster is not None
            n1 = cluster.nodes[0]
            await at(t0, 0.2 * duration)
            await asyncio.to_thread(cluster.kill, n1)
            events.append(f"{time.monotonic() - t0:.0f}s kill -9 {n1.name}")
            await at(t0, 0.3 * duration)
            await asyncio.to_thread(cons[1].kill)
            events.append(f"{time.monotonic() - t0:.0f}s kill -9 consumer 1")
            await asyncio.sleep(5)
            await asyncio.to_thread(cons[1].start, True, 60.0)
            events.append(f"{time.monotonic() - t0:.0f}s consumer 1 restarted")
            await at(t0, 0.35 * duration)
            hubs[0].proxy.cut(args.cut)
            events.append(f"{time.monotonic() - t0:.0f}s cut {hubs[0].hall_id} for {args.cut}s")
            await at(t0, 0.6 * duration)
            await asyncio.to_thread(cluster.restart, n1)
            events.append(f"{time.monotonic() - t0:.0f}s {n1.name} restarted")

        async def main() -> float:
            fleet.start()
            t0 = time.monotonic()
            tasks = [asyncio.create_task(faults(t0))] if cluster is not None else []
            while time.monotonic() - t0 < duration:
                hall = fleet.halls[len(commands) % len(fleet.halls)].hall_id
                real = hubs[len(commands) % len(hubs)].hall_id if hubs else hall
                for target in (hall, real):
                    targets.append(target)
                    commands.append(
                        asyncio.ensure_future(
                            send_command(cmd_port, dsn, target, "hub", "config.get", 90)
                        )
                    )
                await asyncio.sleep(10)
            for t in tasks:
                await t
            fleet.pause()
            for h in hubs:
                await asyncio.to_thread(h.pause)
            stopped = time.monotonic()
            await asyncio.gather(*commands)  # each has its 90 s deadline
            if not await fleet.drained(180):
                print("warning: simulated halls still hold events after 180 s", file=sys.stderr)
            await fleet.close()
            return stopped

        stopped = asyncio.run(main())
        answered = asyncio.run(_gather(commands))
        for h in hubs:
            _outbox_emptied(h, 180)
        expected = set(fleet.made())
        expected |= {(h.hall_id, i) for h in hubs for i in h.journal_ids()}
        settles(lambda: not check(dsn, expected)[1], 120, every=0.25)
        drained_s = time.monotonic() - stopped
        stored, missing, dups, gaps = check(dsn, expected)
        cpu = sampler.stop()
        figs = asyncio.run(_figures(dsn))
        return {
            "halls": args.halls,
            "hubs": args.hubs,
            "consumers": n_consumers,
            "duration_s": duration,
            "expected": len(expected),
            "stored": stored,
            "missing": len(missing),
            "duplicates": dups,
            "open_gaps": gaps,
            "commands": len(answered),
            "commands_answered": sum(a is not None for a in answered),
            "commands_unanswered": [t for t, a in zip(targets, answered, strict=True) if a is None],
            "command_p50_s": _median([a for a in answered if a is not None]),
            "events_per_s": figs["rows"] / figs["span_s"] if figs["span_s"] else 0.0,
            "p50_ms": figs["p50_ms"],
            "p99_ms": figs["p99_ms"],
            "resent_rows": figs["resent_rows"],
            "drain_after_stop_s": drained_s,
            "consumer_cpu_s_per_1000": cpu / max(1, stored) * 1000,
            "consumer_rss_mb_peak": sampler.rss_peak,
            "broker_rss_mb_peak": sampler.broker_peak,
            "broker_rss_mb_end": sampler.broker_last,
            "hub_reconnects": [h.proxy.connections for h in hubs],
            "sim_reconnected_halls": sum(h.connects > 1 for h in fleet.halls),
            "timeline": events,
        }
    finally:
        for h in hubs:
            try:
                h.stop()
            except Exception as e:  # the figures matter more than one hub stopping cleanly
                print(f"warning: {h.hall_id}: {e}", file=sys.stderr)
        for k in cons:
            k.kill()
        drop_db(name)


async def _gather(futs: list[asyncio.Future[float | None]]) -> list[float | None]:
    # The command futures were made in the fleet's (closed) loop: they are all done.
    return [f.result() if f.done() and not f.cancelled() else None for f in futs]


# -- consumer choice -------------------------------------------------------------------------
def burst(n: int, halls: int) -> list[tuple[str, bytes]]:
    out = []
    now = datetime.now(UTC)
    for i in range(n):
        hall, seq = f"burst-{i % halls:03d}", i // halls + 1
        body = envelope.encode(
            hall_id=hall,
            seq=seq,
            event_id=f"01BURST{i:019d}",
            event_type="rating.submitted",
            device_id="pad-1",
            time=now,
            tz=UTC,
            data={"level": 1 + i % 5, "counter": 3},
            journal="01BURSTJOURNAL000000000000",
        )
        out.append((f"halls/{hall}/events/rating/submitted", body))
    return out


async def _publish(port: int, msgs: list[tuple[str, bytes]]) -> None:
    window = asyncio.Semaphore(500)
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier=f"bench-burst-{secrets.token_hex(3)}",
        protocol=aiomqtt.ProtocolVersion.V311,
        max_inflight_messages=500,
        timeout=60,
    ) as c:

        async def one(topic: str, body: bytes) -> None:
            try:
                await c.publish(topic, body, qos=1)
            finally:
                window.release()

        tasks = []
        for topic, body in msgs:
            await window.acquire()
            tasks.append(asyncio.create_task(one(topic, body)))
        await asyncio.gather(*tasks)


def choice_run(
    work: Path, cluster: devcluster.Cluster, kind: str, n: int, msgs: list[tuple[str, bytes]]
) -> dict[str, float]:
    """N consumers of KIND on the cluster drain one burst into PostgreSQL."""
    name, dsn = new_db()
    n2 = cluster.nodes[1]
    group = f"choice-{secrets.token_hex(3)}"
    cons = []
    for i in range(n):
        node = cluster.nodes[i % len(cluster.nodes)]
        if kind == "amqp":
            extra: tuple[str, ...] = ("--shared-group", group)
            url = node.amqp_url
        else:  # 3.1.1: no shared subscriptions, every consumer gets every event
            extra = ("--protocol", "3.1.1", "--no-shared")
            url = node.mqtt_url
        cons.append(ConsumerProcess(work, url, dsn, f"{group}-{kind}{i}", *extra))
    try:
        for k in cons:
            k.start(timeout=60)
        cpu0 = [cpu_s(_pid(k)) for k in cons]
        t0 = time.monotonic()
        pub = threading.Thread(target=lambda: asyncio.run(_publish(n2.mqtt_port, msgs)))
        pub.start()
        rss = 0.0
        while count_events(dsn) < len(msgs):
            rss = max(rss, *(rss_mb(_pid(k)) for k in cons))
            if time.monotonic() - t0 > 300:
                raise RuntimeError(f"{kind}: not all events after 300 s")
            time.sleep(0.1)
        seconds = time.monotonic() - t0
        pub.join()
        time.sleep(3)  # the other MQTT consumers finish their (duplicate) copies
        cpu = sum(cpu_s(_pid(k)) - c for k, c in zip(cons, cpu0, strict=True))
        return {
            "consumers": n,
            "events_per_s": len(msgs) / seconds,
            "cpu_s_per_1000": cpu / len(msgs) * 1000,
            "rss_mb_peak": rss,
        }
    finally:
        for k in cons:
            k.kill()
        drop_db(name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--halls", type=int, default=200)
    ap.add_argument("--rate", type=float, default=2.0, help="events/s of each simulated hall")
    ap.add_argument("--hubs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=150.0)
    ap.add_argument("--cut", type=float, default=60.0)
    ap.add_argument("--baseline-duration", type=float, default=60.0)
    ap.add_argument("--choice-events", type=int, default=20_000)
    args = ap.parse_args()
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt's "pending publish calls"
    results: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as d:
        work = Path(d)
        t0 = time.monotonic()
        cluster = devcluster.start(work / "cluster", nodes=3)
        results["cluster_start_s"] = time.monotonic() - t0
        print(f"devcluster: 3 nodes up in {results['cluster_start_s']:.1f} s")

        def beams() -> list[int]:
            return [n.pid for n in cluster.nodes if n.pid and devcluster.alive(n.pid)]

        try:
            if args.choice_events:
                msgs = burst(args.choice_events, 20)
                results["choice"] = {
                    f"{kind}x{n}": choice_run(work / f"choice-{kind}{n}", cluster, kind, n, msgs)
                    for n in (1, 3)
                    for kind in ("mqtt", "amqp")
                }
                print(f"consumer choice: {results['choice']}")
            results["cluster"] = fleet_scenario(
                args,
                work / "cluster-run",
                [n.mqtt_url for n in cluster.nodes],
                [n.amqp_url for n in cluster.nodes],
                3,
                beams,
                args.duration,
                cluster,
            )
            print(f"cluster: {results['cluster']}")
        finally:
            devcluster.stop_cluster(cluster)
        mosq = Mosquitto(work / "mosquitto")
        mosq.start()
        try:
            results["baseline"] = fleet_scenario(
                args,
                work / "baseline-run",
                [mosq.url],
                [mosq.url],
                1,
                lambda: [mosq.pid] if mosq.pid is not None else [],
                args.baseline_duration,
                None,
            )
        finally:
            mosq.stop()
    report(results)
    save("fleet", results)


def report(r: dict[str, Any]) -> None:
    if "choice" in r:
        ch = r["choice"]
        base = ch["mqttx1"]["events_per_s"]
        labels = {
            "mqttx1": "1 MQTT 3.1.1 consumer (its session: a plugin quorum queue)",
            "amqpx1": "1 AMQP consumer (the shared quorum queue)",
            "mqttx3": "3 MQTT 3.1.1 consumers (each gets every event)",
            "amqpx3": "3 AMQP consumers (competing on one queue)",
        }
        print_table(
            f"Consumer choice on the 3-node cluster ({r['args']['choice_events']:,} events)",
            ["consumers", "events/s into PostgreSQL", "ratio", "CPU s / 1,000 (all)", "RSS MB"],
            [
                [labels[k], f"{x['events_per_s']:,.0f}", f"{x['events_per_s'] / base:.2f}",
                 f"{x['cpu_s_per_1000']:.3f}", f"{x['rss_mb_peak']:.0f}"]
                for k, x in ch.items()
            ],
        )  # fmt: skip
    b, c = r["baseline"], r["cluster"]
    rows = []
    for label, x in (("1 Mosquitto, 1 MQTT consumer (baseline)", b),
                     ("3-node RabbitMQ, 3 AMQP consumers, faults", c)):  # fmt: skip
        rows.append(
            [
                label,
                f"{x['stored']:,}/{x['expected']:,}",
                x["duplicates"],
                x["open_gaps"],
                f"{x['commands_answered']}/{x['commands']}",
                f"{x['events_per_s']:,.0f}",
                f"{x['p50_ms']:.0f}",
                f"{x['p99_ms']:.0f}",
                f"{x['consumer_cpu_s_per_1000']:.3f}",
                f"{x['consumer_rss_mb_peak']:.0f}",
                f"{x['broker_rss_mb_peak']:.0f}",
            ]
        )
    print_table(
        f"Fleet: {c['halls']} simulated halls + {c['hubs']} real hubs"
        f" (cluster run {c['duration_s']:.0f} s, baseline {b['duration_s']:.0f} s)",
        ["setup", "rows/expected", "dup", "open gaps", "commands", "events/s", "p50 ms",
         "p99 ms", "consumer CPU s/1,000", "consumer RSS MB", "broker RSS MB"],
        rows,
    )  # fmt: skip
    print(f"ratio events/s cluster/baseline: {c['events_per_s'] / b['events_per_s']:.2f}")
    print("timeline: " + "; ".join(c["timeline"]))
    print(f"devcluster start: {r['cluster_start_s']:.1f} s; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
