"""Rules engine throughput: events/s through RuleEngine.evaluate() alone.

Run: python bench/rules.py [--events N] [--repeat R]

Measures, in one run, on the same realistic mix of hall events:
- baseline 1: a loop that only looks the event type up in a dict (the floor of any router);
- baseline 2: json.loads of the same events as device JSON (what every event costs anyway);
- the engine with the shipped default pack (11 rules, 1 window);
- the engine with 100 rules (the default pack plus 89 generated, plausible hall rules);
- a pipeline proxy: json.loads + envelope encoding (msgspec) + a SQLite journal insert in
  500-row transactions (WAL, synchronous=FULL as the hub's default), per event.
Prints a table (events/s, µs/event wall and CPU, ratio to json.loads) and the share of
the pipeline's time the rules take, and writes bench/results/rules.json. The measures are
interleaved in R rounds (the machine may be shared): figures are the best round, ratios
the median round; each round uses a fresh engine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.model import JournaledEvent
from edge.rules.engine import RuleEngine
from edge.rules.loader import load_ruleset
from edge.rules.ruleset import RuleSet

BASE_LOOKUP = "baseline: dict lookup of event type"
BASE_JSON = "baseline: json.loads of the event"
DEFAULT = "rules: default pack (11 rules)"
HUNDRED = "rules: 100 rules"
PIPELINE = "pipeline proxy: json + envelope + SQLite journal"

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
GROUPS = {
    "hall-screens": frozenset({"screen-1", "screen-2"}),
    "hall-voice": frozenset({"voice-1"}),
    "robots": frozenset({"robot-1"}),
    "counter-displays": frozenset({f"cd-{i}" for i in range(1, 9)}),
}
SERVICES = ["payment", "new_install", "capacity_change", "name_transfer", "invoice", "consultation"]

# (event type, weight): a busy hall's journal, by relative frequency.
MIX: list[tuple[str, int]] = [
    ("counter.action", 16),
    ("queue.status", 16),
    ("queue.ticket.issued", 8),
    ("queue.ticket.called", 8),
    ("queue.ticket.completed", 8),
    ("rating.requested", 8),
    ("rating.submitted", 7),
    ("footfall.counted", 6),
    ("customer.recognized", 5),
    ("printer.status", 4),
    ("robot.status", 4),
    ("kiosk.status", 3),
    ("kiosk.payment", 3),
    ("invoice.printed", 2),
    ("device.online", 1),
    ("device.offline", 1),
    ("form.submitted", 1),
]


def make_data(rnd: random.Random, etype: str) -> dict[str, Any]:
    """Event data as the catalogue of docs/contract.md §4 describes it."""
    counter = rnd.randint(1, 8)
    ticket = f"{rnd.choice('ABC')}{rnd.randint(1, 300):03d}"
    service = rnd.choice(SERVICES)
    if etype == "counter.action":
        return {
            "counter": counter,
            "action": rnd.choice(["call_next", "recall", "finish", "pause"]),
        }
    if etype == "queue.status":
        return {
            "service": service,
            "waiting": rnd.randint(0, 14),
            "open_counters": rnd.randint(1, 4),
            "longest_wait_s": rnd.randint(0, 1500),
        }
    if etype == "queue.ticket.issued":
        return {
            "ticket_no": ticket,
            "service": service,
            "channel": "kiosk",
            "priority": rnd.choice(["normal"] * 8 + ["elderly", "vip"]),
            "waiting_ahead": 3,
        }
    if etype == "queue.ticket.called":
        return {"ticket_no": ticket, "counter": counter, "staff_id": f"s{counter}", "call_no": 1}
    if etype == "queue.ticket.completed":
        return {
            "ticket_no": ticket,
            "counter": counter,
            "staff_id": f"s{counter}",
            "service": service,
            "wait_s": rnd.randint(10, 1500),
            "service_s": rnd.randint(60, 900),
        }
    if etype == "rating.requested":
        return {"rating_id": f"r{rnd.randint(1, 10**6)}", "counter": counter, "ticket_no": ticket}
    if etype == "rating.submitted":
        return {
            "rating_id": f"r{rnd.randint(1, 10**6)}",
            "counter": counter,
            "staff_id": f"s{counter}",
            "ticket_no": ticket,
            "level": rnd.choice([5, 5, 5, 5, 4, 4, 4, 3, 2, 1]),
            "dimensions": {"attitude": 5, "efficiency": 4, "competence": 5},
        }
    return _device_data(rnd, etype)


def _device_data(rnd: random.Random, etype: str) -> dict[str, Any]:
    """make_data's events of the cameras, printers, robots, kiosks and desks."""
    if etype == "footfall.counted":
        return {
            "camera": "door",
            "entered": rnd.randint(0, 3),
            "left": rnd.randint(0, 3),
            "occupancy": rnd.randint(10, 95),
        }
    if etype == "customer.recognized":
        return {
            "camera": "door",
            "customer_ref": f"c-{rnd.randint(1, 200)}",
            "distance": 1.1,
            "consent_id": "k1",
            "vip": rnd.random() < 0.2,
        }
    if etype == "printer.status":
        return {
            "online": True,
            "paper": rnd.choice(["ok"] * 8 + ["near_end", "end"]),
            "cover_open": False,
            "cutter_error": rnd.random() < 0.02,
            "unrecoverable": False,
        }
    if etype == "robot.status":
        return {
            "battery": rnd.randint(5, 100),
            "charging": False,
            "mode": "guide",
            "position": "lobby",
        }
    if etype == "kiosk.status":
        return {"online": True, "paper": "ok", "cash_box": rnd.choice(["ok", "full"])}
    if etype == "kiosk.payment":
        return {
            "amount_cents": rnd.randint(1000, 90000),
            "channel": rnd.choice(["wechat", "alipay", "card"]),
            "result": rnd.choice(["ok"] * 9 + ["failed"]),
            "account": "****1234",
        }
    if etype == "invoice.printed":
        return {
            "invoice_no": f"INV{rnd.randint(1, 10**6)}",
            "amount_cents": rnd.randint(1000, 90000),
        }
    if etype == "form.submitted":
        return {"form": "new_install", "desk": "desk-1"}
    return {}


def make_events(n: int, seed: int = 7) -> list[JournaledEvent]:
    rnd = random.Random(seed)
    types = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    devices = [f"dev-{i}" for i in range(1, 25)]
    events = []
    for i in range(n):
        etype = rnd.choices(types, weights)[0]
        events.append(
            JournaledEvent(
                seq=i + 1,
                id=f"E{i + 1:08d}",
                type=etype,
                device_id=rnd.choice(devices),
                time=T0 + timedelta(seconds=i * 0.5),
                data=make_data(rnd, etype),
            )
        )
    return events


def generated_rules(count: int) -> str:
    """`count` plausible hall rules (and 3 windows) as YAML, in the styles installers write."""
    lines = ["windows:"]
    for wid, trigger, key, value in [
        ("pay-amount-1h", "kiosk.payment", "device_id", "data.amount_cents"),
        ("service-wait-1h", "queue.ticket.completed", "data.service", "data.wait_s"),
        ("counter-service-1h", "queue.ticket.completed", "data.counter", "data.service_s"),
    ]:
        lines += [
            f"  - id: {wid}",
            f"    trigger: {trigger}",
            f"    key: {key}",
            f"    value: {value}",
            "    period: 1h",
        ]
    lines.append("rules:")
    for i in range(count):
        kind = i % 9
        c = i % 8 + 1
        s = SERVICES[i % len(SERVICES)]
        rid = f"gen-{i:03d}"
        lines += [f"  - id: {rid}", f"    description: generated rule {i} ({kind})"]
        if kind == 0:
            lines += [
                "    trigger: rating.submitted",
                f"    when: data.counter == {c} and data.level <= 2",
                "    throttle: {key: data.staff_id, period: 30m}",
                "    actions: [{alert: {message: '" + f"{c}号窗口员工" + "{data.staff_id}差评'}}]",
            ]
        elif kind == 1:
            lines += [
                "    trigger: queue.status",
                f"    when: data.service == '{s}' and data.waiting > {5 + c}",
                "    throttle: {key: data.service, period: 10m}",
                "    actions: [{alert: {message: '{data.service}排队{data.waiting}人'}}]",
            ]
        elif kind == 2:
            lines += [
                "    trigger: {events: [queue.ticket.called], data: {counter: " + str(c) + "}}",
                "    actions: [{command: {device: " + f"cd-{c}" + ", name: caller.show_digits, "
                "args: {text: '{data.ticket_no}'}}}]",
            ]
        elif kind == 3:
            lines += [
                "    trigger: '*.status'",
                "    when: data.get('online', True) == False",
                "    actions: [drop]",
            ]
        elif kind == 4:
            lines += [
                "    trigger: queue.ticket.completed",
                "    vars: {avg_wait: \"avg('service-wait-1h', data.service)\"}",
                f"    when: data.service == '{s}' and avg_wait is not None"
                f" and avg_wait > {600 + 60 * c}",
                "    throttle: {key: data.service, period: 1h}",
                "    actions: [{alert: {message: '{data.service}平均等候{avg_wait:.0f}秒'}}]",
            ]
        elif kind == 5:
            lines += [
                "    trigger: kiosk.payment",
                "    when: data.result != 'ok'",
                "    actions: [{state: {increment: 'pay_failed.{device_id}'}}]",
            ]
        elif kind == 6:
            lines += [
                "    trigger: {events: [footfall.counted]}",
                f"    when: data.occupancy > {60 + c * 4}",
                "    throttle: {period: 20m}",
                "    actions: [{command: {device: robot-1, name: robot.speak,",
                "                         args: {text: '人多请排队'}}}]",
            ]
        elif kind == 7:
            lines += [
                "    trigger: 'queue.*'",
                "    when: data.get('priority') == 'vip'",
                "    actions:",
                "      - emit: {type: queue.vip_waiting, data: {ticket_no: '{data.ticket_no}'}}",
            ]
        else:
            lines += [
                "    trigger: counter.action",
                f"    when: data.counter == {c} and data.action == 'pause' and time.hour >= 9",
                "    dedupe: {key: data.counter, period: 5m}",
                "    actions: [{state: {set: 'paused.{data.counter}', value: seq}}]",
            ]
    return "\n".join(lines) + "\n"


def timed(run: Callable[[], None]) -> tuple[float, float]:
    """(wall s, CPU s) of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def engine_run(
    ruleset: RuleSet, events: list[JournaledEvent], sink: list[int]
) -> Callable[[], None]:
    def run() -> None:
        engine = RuleEngine(ruleset, TZ, GROUPS)
        outputs = 0
        forwarded = 0
        for ev in events:
            d = engine.evaluate(ev)
            outputs += len(d.outputs)
            forwarded += d.forward
        sink[:] = [outputs, forwarded]

    return run


def pipeline_run(raw: list[bytes], folder: Path) -> Callable[[], None]:
    encoder = msgspec.json.Encoder()

    def run() -> None:
        path = folder / f"journal-{time.monotonic_ns()}.db"
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(
            "CREATE TABLE journal(seq INTEGER PRIMARY KEY, type TEXT, device TEXT, body BLOB)"
        )
        batch: list[tuple[int, str, str, bytes]] = []
        for seq, msg in enumerate(raw, start=1):
            obj = json.loads(msg)
            envelope = {
                "specversion": "1.0",
                "id": f"E{seq:08d}",
                "type": obj["type"],
                "source": f"/halls/h1/devices/{obj['device_id']}",
                "time": obj["time"],
                "hallid": "h1",
                "deviceid": obj["device_id"],
                "hallseq": seq,
                "data": obj["data"],
            }
            batch.append((seq, obj["type"], obj["device_id"], encoder.encode(envelope)))
            if len(batch) == 500:
                db.execute("BEGIN")
                db.executemany("INSERT INTO journal VALUES (?, ?, ?, ?)", batch)
                db.execute("COMMIT")
                batch.clear()
        if batch:
            db.execute("BEGIN")
            db.executemany("INSERT INTO journal VALUES (?, ?, ?, ?)", batch)
            db.execute("COMMIT")
        db.close()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds")
    args = parser.parse_args()
    n = args.events

    events = make_events(n)
    raw = [
        json.dumps(
            {"type": e.type, "device_id": e.device_id, "time": e.time.isoformat(), "data": e.data},
            ensure_ascii=False,
        ).encode()
        for e in events
    ]
    default_pack = load_ruleset([], {}, builtin=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        extra = folder / "hall-rules.yaml"
        extra.write_text(generated_rules(100 - len(default_pack.rules)), encoding="utf-8")
        hundred = load_ruleset([extra], {}, builtin=True)
        assert len(hundred.rules) == 100, len(hundred.rules)

        route = {t: i for i, (t, _) in enumerate(MIX)}

        def lookups() -> None:
            hits = 0
            for ev in events:
                hits += route.get(ev.type, -1) >= 0
            assert hits == n

        def decode() -> None:
            for msg in raw:
                json.loads(msg)

        counts_default: list[int] = []
        counts_hundred: list[int] = []
        measures: dict[str, Callable[[], None]] = {
            BASE_LOOKUP: lookups,
            BASE_JSON: decode,
            DEFAULT: engine_run(default_pack, events, counts_default),
            HUNDRED: engine_run(hundred, events, counts_hundred),
            PIPELINE: pipeline_run(raw, folder),
        }
        # Rounds interleave the measures so that a busy neighbour on a shared machine
        # slows all of them alike; each figure is the best round, each ratio the median
        # of the per-round ratios to json.loads.
        rounds: list[dict[str, tuple[float, float]]] = []
        for _ in range(args.repeat):
            rounds.append({name: timed(run) for name, run in measures.items()})

    load = os.getloadavg()[0]
    print(
        f"rules engine benchmark: {n} events, realistic hall mix, {args.repeat} rounds, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end"
    )
    head = f"{'measure':50s} {'events/s':>10s} {'µs/event':>9s} {'CPU µs':>7s} {'× json':>7s}"
    print(head)
    rows = {}
    for name in measures:
        seconds = min(r[name][0] for r in rounds)
        cpu = min(r[name][1] for r in rounds)
        ratio = statistics.median(r[name][0] / r[BASE_JSON][0] for r in rounds)
        rate = n / seconds
        us = seconds / n * 1e6
        rows[name] = {
            "events_per_s": round(rate),
            "us_per_event": round(us, 2),
            "cpu_us_per_event": round(cpu / n * 1e6, 2),
            "ratio_to_json_loads": round(ratio, 2),
        }
        print(f"{name:50s} {rate:10,.0f} {us:9.2f} {cpu / n * 1e6:7.2f} {ratio:7.2f}")
    pipe_us = rows[PIPELINE]["us_per_event"]
    share = {}
    for key in (DEFAULT, HUNDRED):
        us = rows[key]["us_per_event"]
        share[key] = round(us / (us + pipe_us) * 100, 1)
        print(f"share of (proxy pipeline + rules) spent in {key}: {share[key]:.1f} %")
    # The cloud uplink was measured at ≈12.7k QoS 1 msg/s (≈79 µs/event) on these machines
    # (docs/architecture.md, paho-mqtt); with it the rules' share is smaller still.
    uplink_us = 1e6 / 12_700
    for key in (DEFAULT, HUNDRED):
        us = rows[key]["us_per_event"]
        print(
            f"  … including the uplink's ≈{uplink_us:.0f} µs/event (docs/architecture.md): "
            f"{us / (us + pipe_us + uplink_us) * 100:.1f} %"
        )
    print(
        f"outputs per 1000 events: default pack {counts_default[0] * 1000 / n:.0f}, "
        f"100 rules {counts_hundred[0] * 1000 / n:.0f}; "
        f"forwarded: {counts_default[1] * 100 / n:.0f} % / {counts_hundred[1] * 100 / n:.0f} %"
    )
    target = rows[DEFAULT]["events_per_s"] >= 50_000
    print(f"target ≥ 50,000 events/s with the default pack: {'met' if target else 'NOT met'}")

    out = Path(__file__).resolve().parent / "results" / "rules.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "events": n,
                "rounds": args.repeat,
                "cpus": os.cpu_count(),
                "load_average": round(load, 2),
                "mix": dict(MIX),
                "measures": rows,
                "rules_share_of_pipeline_percent": share,
                "outputs_per_1000_events": {
                    "default": counts_default[0] * 1000 / n,
                    "hundred": counts_hundred[0] * 1000 / n,
                },
                "target_50k_met": target,
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
