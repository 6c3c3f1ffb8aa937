"""Backlog drain: 1,000,000 events spooled during a cloud outage, then drained.

Run: .venv/bin/python bench/backlog.py [--events 1000000] [--drain-rate 1e9] [--live-rate 100]

The outage is simulated by filling the hub's journal directly with the hub's own store
(`Journal.write_batch`, batches of 10,000 rating events with device ids), exactly what the
hub would have journaled with the cloud away, only faster. Then the cloud comes back:
`hall-edge run` starts with every event in its outbox and drains it to a private cloud
Mosquitto (QoS 1, window 100, each event deleted from the outbox on its PUBACK), while a
load generator publishes live events at `--live-rate`/s to the hall broker; a consumer
process on the cloud broker counts every event and times the live ones.

`cloud.drain_rate` is the pace the hub allows itself (default 2,000 events/s, so that
hundreds of hubs reconnecting are not a storm); `--drain-rate` sets it for the run, and the
default here (1e9) measures the hub's capacity. Measured: drain rate from the outbox (read
from the journal every second) and from the consumer; live events' latency during the
drain; the hub's RSS over the drain; hallseq coverage at the consumer.
Baseline, same run: the prefill rate of the same journal (events/s written by
`Journal.write_batch` alone: no MQTT, no envelope copy, no PUBACK).
Prints a table and writes bench/results/backlog.json (backlog-drain-RATE.json for a paced
run, e.g. `--events 100000 --drain-rate 2000`, the shipped pace).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (
    HALL_ID,
    ROOT,
    HubRun,
    cpu_s,
    loadavg,
    machine,
    outbox_count,
    print_table,
    proc_status,
    save,
    started_broker,
    write_hub_config,
)
from peers import consume, generate, spawn

from edge.model import Event
from edge.store import Journal

# The live events' type (a generic-MQTT device may send any): their own topic at the cloud.
LIVE = "bench/live"


def prefill(db: Path, events: int, devices: int = 10, batch: int = 10_000) -> dict[str, Any]:
    """Journal `events` ratings as the hub would have during an outage; returns the rate."""
    journal = Journal(db, HALL_ID, ZoneInfo("Asia/Shanghai"), synchronous="normal")
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    for start in range(0, events, batch):
        evs = [
            Event(
                "rating.submitted",
                f"dev-{i % devices}",
                {
                    "rating_id": f"R{i:08d}",
                    "counter": 1 + i % 12,
                    "staff_id": f"S{i % 40:03d}",
                    "ticket_no": f"A{i % 1000:03d}",
                    "level": 3 + i % 3,
                    "dimensions": {"attitude": 5, "efficiency": 4, "competence": 5},
                },
                time=now,
                source_id=f"spool-{i}",
            )
            for i in range(start, min(events, start + batch))
        ]
        journal.write_batch(evs)
    took = time.perf_counter() - t0
    journal.close()
    return {
        "events": events,
        "seconds": round(took, 1),
        "events_per_s": round(events / took),
        "db_mb": round(db.stat().st_size / 2**20, 1),
    }


def drain(folder: Path, args: argparse.Namespace, code: Path = ROOT) -> dict[str, Any]:
    hall, cloud = started_broker(folder, "hall-broker"), started_broker(folder, "cloud-broker")
    ctx = mp.get_context("fork")
    # Raised to the real total once the live generator has stopped; until then, no end.
    expect = ctx.Value("q", 2**62)
    progress = ctx.Value("q", 0)
    ready, go, stop_live = ctx.Event(), ctx.Event(), ctx.Event()
    out_c: Any = ctx.Queue()
    out_g: Any = ctx.Queue()
    tables = {"cloud": {"drain_rate": args.drain_rate}, "store": {"synchronous": args.sync}}
    cfg = write_hub_config(folder, hall.url, cloud.url, tables=tables)
    consumer = spawn(
        consume,
        cloud.url,
        expect,
        ready,
        out_c,
        60.0,
        7200.0,
        args.events + 10**6,
        progress,
        args.consumer_qos,
    )
    ready.wait(10)
    # The live events' own subscriber: only their topic, so the all-events consumer's lag
    # behind a drain faster than it reads is not in their latency.
    expect_live = ctx.Value("q", 2**62)
    ready_live, out_live = ctx.Event(), ctx.Queue()
    observer = spawn(
        consume, cloud.url, expect_live, ready_live, out_live, 60.0, 7200.0, 0, None, 0, LIVE
    )
    ready_live.wait(10)
    hub = HubRun(cfg, code=code)
    db = folder / "hall.db"
    timeline: list[tuple[float, int, float]] = []  # (s since hub start, outbox, RSS MB)
    try:
        hub.start()
        # Its start-up replays the day's journaled events into the rules' state: with a
        # million of them that took over 60 s on the busy 2-core machine.
        hub.wait_connected(timeout=600)
        live_max = int(args.live_rate * 7200)
        gen = spawn(
            generate, hall.url, live_max, args.live_rate, "live", go, out_g, 10, 50, stop_live, LIVE
        )
        go.set()
        t0 = time.monotonic()
        cpu0 = cpu_s(hub.pid)
        while True:
            n = outbox_count(db)
            timeline.append(
                (round(time.monotonic() - t0, 1), n, round(proc_status(hub.pid)["VmRSS"] / 1024, 1))
            )
            # Drained: only live events left in the outbox; or, should acknowledgements stop
            # reaching the journal (a hub bug), the whole backlog seen at the cloud.
            if n <= args.live_rate or progress.value >= args.events:
                break
            time.sleep(1.0)
        drained_s = time.monotonic() - t0
        hub_cpu = cpu_s(hub.pid) - cpu0
        stop_live.set()
        g = out_g.get(timeout=120)
        expect.value = args.events + g["sent"]
        expect_live.value = g["sent"]
        c = out_c.get(timeout=3600)
        own = out_live.get(timeout=600)
        gen.join()
        consumer.join()
        observer.join()
        hwm = proc_status(hub.pid)["VmHWM"] / 1024
    finally:
        hub.stop()
        hall.stop()
        cloud.stop()
    first_n = timeline[0][1]
    moved = [(t, n) for t, n, _ in timeline if n < first_n]
    t_first = moved[0][0] if moved else 0.0
    return {
        "drain_rate_setting": args.drain_rate,
        "drained_s": round(drained_s, 1),
        "outbox_when_drained": timeline[-1][1],
        # The hub's CPU over the drain (live events included), per backlog event.
        "hub_cpu_us_per_event": round(1e6 * hub_cpu / max(1, first_n - timeline[-1][1])),
        "outbox_rate": round((first_n - timeline[-1][1]) / max(1e-9, timeline[-1][0] - t_first)),
        "consumer_resent": c["resent"],
        "consumer_rate": round(
            c["resent"] / max(1e-9, (c["last_resent"] - c["first_resent"]) / 1e9)
        ),
        "unique": c["unique"],
        "copies": c["copies"],
        "seqs_seen": c["seqs_seen"],
        "live_sent": g["sent"],
        "live_received": c["live"],
        "live_latency_ms": c["live_latency_ms"],
        "live_own_received": own["live"],
        "live_own_latency_ms": own["live_latency_ms"],
        "rss_mb": {
            "first": timeline[0][2],
            "min": min(r for _, _, r in timeline),
            "max": max(r for _, _, r in timeline),
            "hwm": round(hwm, 1),
        },
        "timeline": timeline[:: max(1, len(timeline) // 40)],
    }


def _table(args: argparse.Namespace, out: dict[str, Any]) -> None:
    d, p = out["drain"], out["prefill"]
    lat = d["live_latency_ms"]
    print_table(
        f"backlog of {args.events:,} events after an outage "
        f"({out['machine']['nproc']} cores, load {out['machine']['loadavg_at_start']})",
        ["measure", "figure"],
        [
            ["prefill, Journal.write_batch alone (baseline)", f"{p['events_per_s']:,} events/s"],
            ["journal file", f"{p['db_mb']} MB"],
            ["drain, from the outbox", f"{d['outbox_rate']:,} events/s"],
            ["drain, at the consumer", f"{d['consumer_rate']:,} events/s"],
            ["drain / prefill", f"{d['outbox_rate'] / p['events_per_s']:.2f}"],
            ["time to drain", f"{d['drained_s']} s"],
            ["still in the outbox then (acks not flushed)", f"{d['outbox_when_drained']:,}"],
            ["distinct events at the cloud", f"{d['unique']:,}"],
            ["copies beyond the first", f"{d['copies'] - d['unique']}"],
            ["hallseq 1..N seen", f"{d['seqs_seen']:,}"],
            [
                f"live events during the drain ({args.live_rate:.0f}/s)",
                f"{d['live_received']}/{d['live_sent']} arrived",
            ],
            [
                "live latency p50 / p99 / max, at the all-events consumer",
                f"{lat.get('p50')} / {lat.get('p99')} / {lat.get('max')} ms",
            ],
            [
                "live latency p50 / p99 / max, at their own subscriber",
                _lat(d["live_own_latency_ms"]),
            ],
            ["hub RSS during the drain", f"{d['rss_mb']['min']}–{d['rss_mb']['max']} MB"],
        ],
    )


def compare(args: argparse.Namespace, folder: Path, out: dict[str, Any]) -> None:
    """Drain copies of one prefilled journal with the hub of `args.compare` (A, the
    baseline) and of this checkout (B), interleaved over `args.rounds` rounds (A first in
    odd rounds, B first in even ones), so that both see the same machine."""
    prefilled = folder / "prefilled.db"
    out["prefill"] = prefill(prefilled, args.events)
    variants = {"A": Path(args.compare).resolve(), "B": ROOT}
    runs: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    for r in range(args.rounds):
        for name in "AB" if r % 2 == 0 else "BA":
            work = folder / f"round{r}-{name}"
            work.mkdir()
            shutil.copyfile(prefilled, work / "hall.db")
            print(f"round {r + 1}, {name} ({variants[name]}): draining ...", flush=True)
            runs[name].append(drain(work, args, variants[name]))
            shutil.rmtree(work)
    out["compare"] = {"code": {k: str(v) for k, v in variants.items()}, "runs": runs}
    rows = []
    for name in "AB":
        for i, d in enumerate(runs[name]):
            lat = d["live_latency_ms"]
            rows.append(_compare_row(f"{name}{i + 1}", d, lat))
    print_table(
        f"backlog of {args.events:,} events, A = {variants['A']}, B = this checkout "
        f"(prefill alone {out['prefill']['events_per_s']:,} events/s)",
        [
            "run",
            "outbox ev/s",
            "consumer ev/s",
            "live p50/p99/max, all-events consumer",
            "live, own subscriber",
            "live",
            "copies",
            "seqs",
            "RSS MB",
            "hub CPU µs/ev",
        ],
        rows,
    )
    ratios = _ratios(runs)
    out["compare"]["ratios_b_over_a"] = ratios
    print_table("B / A (medians of the rounds)", ["measure", "ratio"], list(ratios.items()))


def _lat(ms: dict[str, Any]) -> str:
    return f"{ms.get('p50')}/{ms.get('p99')}/{ms.get('max')} ms"


def _compare_row(label: str, d: dict[str, Any], lat: dict[str, Any]) -> list[object]:
    return [
        label,
        f"{d['outbox_rate']:,}",
        f"{d['consumer_rate']:,}",
        f"{lat.get('p50')}/{lat.get('p99')}/{lat.get('max')}",
        _lat(d["live_own_latency_ms"]),
        f"{d['live_received']}/{d['live_sent']}",
        d["copies"] - d["unique"],
        f"{d['seqs_seen']:,}",
        f"{d['rss_mb']['min']}–{d['rss_mb']['max']}",
        d["hub_cpu_us_per_event"],
    ]


def _ratios(runs: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    def med(name: str, get: Any) -> float:
        return float(statistics.median(get(d) for d in runs[name]))

    picks = {
        "outbox rate": lambda d: d["outbox_rate"],
        "consumer rate": lambda d: d["consumer_rate"],
        "live p99": lambda d: d["live_latency_ms"].get("p99", 0.0),
        "live p99, own subscriber": lambda d: d["live_own_latency_ms"].get("p99", 0.0),
        "live p50, own subscriber": lambda d: d["live_own_latency_ms"].get("p50", 0.0),
        "live p50": lambda d: d["live_latency_ms"].get("p50", 0.0),
        "RSS max": lambda d: d["rss_mb"]["max"],
        "hub CPU per event": lambda d: d["hub_cpu_us_per_event"],
    }
    return {k: round(med("B", f) / max(1e-9, med("A", f)), 2) for k, f in picks.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--drain-rate", type=float, default=1e9, help="cloud.drain_rate for the run")
    ap.add_argument("--live-rate", type=float, default=100.0, help="live events/s during the drain")
    ap.add_argument(
        "--consumer-qos",
        type=int,
        default=0,
        choices=(0, 1),
        help="the cloud consumer's subscription: 0 (default) keeps it ahead of the drain",
    )
    ap.add_argument(
        "--sync", default="full", choices=("full", "normal"), help="the hub's store.synchronous"
    )
    ap.add_argument("--compare", metavar="DIR", help="a checkout whose hub is the baseline (A)")
    ap.add_argument("--rounds", type=int, default=2, help="with --compare: rounds of A and B")
    args = ap.parse_args()
    out: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="bench-backlog-") as tmp:
        folder = Path(tmp)
        if args.compare:
            print(f"prefilling the journal with {args.events:,} events ...", flush=True)
            compare(args, folder, out)
            out["loadavg_at_end"] = loadavg()
            save("backlog-compare", out)
            return
        print(f"prefilling the journal with {args.events:,} events ...", flush=True)
        out["prefill"] = prefill(folder / "hall.db", args.events)
        print("draining ...", flush=True)
        out["drain"] = drain(folder, args)
    out["loadavg_at_end"] = loadavg()
    _table(args, out)
    # The capacity run is bench/results/backlog.json; a paced run gets its own file.
    save("backlog" if args.drain_rate >= 1e9 else f"backlog-drain-{args.drain_rate:g}", out)


if __name__ == "__main__":
    main()
