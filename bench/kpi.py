"""CPU time of the KPI month report for a busy hall: 20 counters, 30,000 tickets.

Run: .venv/bin/python bench/kpi.py [--tickets 30000] [--counters 20] [--repeat 5]

The month comes from the hall month generator the KPI tests use (edge/sim/month.py), and is
journaled into a temporary SQLite file by the hub's own store (edge.store), then read back
the way the KPI service reads it. Measured (best of --repeat runs, process CPU time):
`month_report` on the events as the journal returns them (UTC times), `month_report` on
the generator's events (mostly Asia/Shanghai times, slower to convert), a day report, the
model-counter choice, and reading the month from the journal. Baselines on the same
events, in the same run: sorting them (shuffled) by event time, and decoding their JSON
envelopes.
Prints a table and writes bench/results/kpi.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

from edge.config.kpi import KpiSection  # noqa: E402
from edge.kpi import KPI_EVENT_TYPES, choose_model_window, day_report, month_report  # noqa: E402
from edge.model import Event  # noqa: E402
from edge.sim.month import SHANGHAI, build_month  # noqa: E402
from edge.store import Journal, JournalReader  # noqa: E402


def cpu(fn: Callable[[], object], repeat: int) -> float:
    """Best process CPU time of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tickets", type=int, default=30_000)
    parser.add_argument("--counters", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    section = KpiSection()
    hall = build_month(
        seed=1, counters=args.counters, tickets_per_day=round(args.tickets / 30), noise=False
    )
    start = datetime(hall.first.year, hall.first.month, 1, tzinfo=SHANGHAI)
    end = start + timedelta(days=len(hall.days)) + timedelta(hours=12)

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "hall.db"
        journal = Journal(db, "bench", SHANGHAI, synchronous="normal")
        journal.write_batch(
            [Event(e.type, e.device_id, dict(e.data), time=e.time) for e in hall.events]
        )
        journal.close()
        reader = JournalReader(db)
        envelopes = [bytes(row[0]) for row in reader.conn.execute("SELECT envelope FROM journal")]

        def read_month() -> list[Any]:
            return list(reader.events(start, end, KPI_EVENT_TYPES))

        events = read_month()
        read_s = cpu(read_month, args.repeat)
        reader.close()
        db_bytes = os.path.getsize(db)

    generated = hall.events
    busiest = max(hall.days, key=lambda d: sum(1 for t in hall.tickets if t.day == d))
    day_events = [e for e in events if e.time.astimezone(SHANGHAI).date() == busiest]
    shuffled = list(events)
    random.Random(1).shuffle(shuffled)  # the journal's order is nearly sorted already
    decode = msgspec.json.Decoder(dict[str, Any]).decode
    month = hall.month
    rep = args.repeat
    figures: list[tuple[str, int, float]] = [
        (
            "baseline: sort events by time",
            len(events),
            cpu(lambda: sorted(shuffled, key=lambda e: e.time), rep),
        ),
        (
            "baseline: JSON-decode envelopes",
            len(events),
            cpu(lambda: [decode(b) for b in envelopes], rep),
        ),
        (
            "month_report, journal events (UTC)",
            len(events),
            cpu(lambda: month_report(events, month, SHANGHAI, section), rep),
        ),
        (
            "month_report, generator events (zoned)",
            len(generated),
            cpu(lambda: month_report(generated, month, SHANGHAI, section), rep),
        ),
        (
            "day_report, busiest day",
            len(day_events),
            cpu(lambda: day_report(day_events, busiest, SHANGHAI, section), rep),
        ),
    ]
    report = month_report(events, month, SHANGHAI, section)
    figures.append(
        (
            "choose_model_window",
            len(report.counters),
            cpu(lambda: choose_model_window(report, section), rep),
        )
    )
    figures.append(("read the month from the journal (store)", len(events), read_s))

    sort_s, decode_s, month_s = figures[0][2], figures[1][2], figures[2][2]
    size = f"{args.counters} counters, {len(hall.tickets):,} tickets, {len(events):,} events"
    print(f"hall month: {size}; journal {db_bytes / 1e6:.1f} MB")
    print(f"best of {rep} runs, process CPU time; load average {os.getloadavg()[0]:.1f}")
    print(f"{'measure':<42} {'items':>8} {'CPU ms':>9} {'µs/item':>8}")
    for name, n, seconds in figures:
        print(f"{name:<42} {n:>8,} {seconds * 1000:>9.1f} {seconds / n * 1e6:>8.2f}")
    print(f"ratio month_report / sort baseline:   {month_s / sort_s:6.2f}")
    print(f"ratio month_report / decode baseline: {month_s / decode_s:6.2f}")

    window = choose_model_window(report, section)
    out = {
        "bench": "kpi",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "counters": args.counters,
        "tickets": len(hall.tickets),
        "events": len(events),
        "repeat": rep,
        "cpu_s": {name: round(seconds, 6) for name, _n, seconds in figures},
        "ratio_month_to_sort": round(month_s / sort_s, 3),
        "ratio_month_to_decode": round(month_s / decode_s, 3),
        "model_counter": None if window is None else window.counter,
    }
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "kpi.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
