"""The journal's commit latency, the floor under the hub's p99 at a steady rate.

Small batches (3 rating events each, `synchronous = "full"`, a 2 ms pause between them:
about what the hub commits at 1,000 events/s) written with `Journal.write_batch`, once with
SQLite's automatic WAL checkpoint inside the commits and once with the checkpoint thread
(edge/store/checkpoint.py), rounds interleaved. Baseline in the same run, on the same
filesystem: a 4 KiB append + fsync, the least a durable commit can cost.

    python bench/commit_latency.py [--batches 2500] [--rounds 3] [--dir PATH]

Prints p50/p90/p99/p99.9/max per variant and writes bench/results/commit_latency.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import machine, print_table, save

from edge.model import Event
from edge.store import Journal

DATA: dict[str, Any] = {
    "counter": 3,
    "level": 5,
    "ticket_no": "A012",
    "staff_id": "E1003",
    "dims": {"attitude": 5, "speed": 4},
    "note": "x" * 120,
}


def fsyncs(folder: Path, n: int) -> list[float]:
    path = folder / "fsync.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    out = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            t = time.perf_counter()
            os.fsync(fd)
            out.append((time.perf_counter() - t) * 1000)
            time.sleep(0.002)
    finally:
        os.close(fd)
        path.unlink()
    return out


def commits(folder: Path, n: int, thread: bool) -> list[float]:
    journal = Journal(folder / f"journal-{thread}.db", "bench", UTC)
    if thread:
        journal.start_checkpoints()
    out = []
    try:
        for _ in range(n):
            batch = [Event("rating.submitted", f"pad-{k:02d}", DATA) for k in range(3)]
            t = time.perf_counter()
            journal.write_batch(batch)
            out.append((time.perf_counter() - t) * 1000)
            time.sleep(0.002)
    finally:
        journal.close()
    return out


def percentiles(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    n = len(s)
    at = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p99.9": 0.999}
    return {k: round(s[min(n - 1, int(n * q))], 2) for k, q in at.items()} | {
        "max": round(s[-1], 2)
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=2500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="filesystem to measure (a temp dir)")
    args = ap.parse_args()
    runs: dict[str, list[float]] = {"fsync 4 KiB": [], "automatic checkpoint": [], "thread": []}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            folder = Path(tmp)
            runs["fsync 4 KiB"] += fsyncs(folder, args.batches)
            runs["automatic checkpoint"] += commits(folder, args.batches, thread=False)
            runs["thread"] += commits(folder, args.batches, thread=True)
    figures = {name: percentiles(ms) for name, ms in runs.items()}
    base = figures["fsync 4 KiB"]["p99"] or 1.0
    rows = [
        [name, len(runs[name]), *f.values(), f"{f['p99'] / base:.1f}"]
        for name, f in figures.items()
    ]
    heads = ["variant", "n", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "p99 x fsync"]
    print_table("commit latency, 3 events a batch, synchronous=full", heads, rows)
    save("commit_latency", {"machine": machine(), "figures": figures, "batches": args.batches})


if __name__ == "__main__":
    main()
