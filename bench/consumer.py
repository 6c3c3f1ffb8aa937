"""The reference consumer's throughput into PostgreSQL, against the broker alone.

Run: .venv/bin/python bench/consumer.py [--events 20000] [--halls 20] [--batch-max 500]

One private Mosquitto, one fresh PostgreSQL database (dropped at the end). The same
envelopes (made by edge.envelope, `--halls` halls numbering their events) are published
at QoS 1 twice:
- baseline: to a plain aiomqtt subscriber on `halls/+/events/#` that only counts (automatic
  acks, nothing stored): what the broker and an MQTT client do on this machine;
- `hall-cloud consume` (a process of its own): manual acks after each PostgreSQL commit,
  events with event_ids, gap bookkeeping and partitions. Timed from the first publish to
  the last row committed (polled every 50 ms); its CPU (utime+stime) and RSS from /proc.
Prints a table and writes bench/results/consumer.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiomqtt
from common import ROOT, cpu_s, machine, print_table, rss_mb, save, started_broker
from peers import _client, _Window
from pgdb import count_events, drop_db, new_db

from edge import envelope
from edge.model import EventIds


def envelopes(events: int, halls: int) -> list[tuple[str, bytes]]:
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    ids = EventIds()
    t0 = datetime.now(UTC)
    out = []
    for i in range(events):
        hall, seq = f"hall-{i % halls:03d}", i // halls + 1
        body = envelope.encode(
            hall_id=hall,
            seq=seq,
            event_id=ids.new(),
            event_type="rating.submitted",
            device_id="pad-1",
            time=t0 + timedelta(milliseconds=i),
            tz=UTC,
            data={"level": 1 + i % 5, "counter": 1 + i % 12, "rating_id": f"r-{i}"},
            journal="BENCHJOURNAL",
        )
        out.append((f"halls/{hall}/events/rating/submitted", body))
    return out


def publish_all(url: str, msgs: list[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 (window 1000); returns the time the first one went out."""
    client = _client(url, f"bench-halls-{secrets.token_hex(3)}")
    window = _Window(client, 1000)
    client.loop_start()
    started = time.perf_counter()
    for topic, body in msgs:
        window.take()
        client.publish(topic, body, qos=1)
    for _ in range(1000):  # every PUBACK back before the client goes
        window.take()
    client.loop_stop()
    client.disconnect()
    return started


async def baseline(url: str, msgs: list[tuple[str, bytes]]) -> dict[str, float]:
    port = int(url.rsplit(":", 1)[1])
    got = 0
    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-baseline") as client:
        await client.subscribe("halls/+/events/#", qos=1)
        box: dict[str, float] = {}
        t = threading.Thread(target=lambda: box.update(s=publish_all(url, msgs)))
        t.start()
        async for _ in client.messages:
            got += 1
            if got == len(msgs):
                break
        end = time.perf_counter()
        t.join()
    return {"seconds": end - box["s"], "events_per_s": len(msgs) / (end - box["s"])}


def consumer_run(
    url: str, msgs: list[tuple[str, bytes]], batch_max: int, tmp: Path
) -> dict[str, Any]:
    db, dsn = new_db()
    log = tmp / "consumer.log"
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cloud",
                    "consume",
                    "--broker",
                    url,
                    "--db",
                    dsn,
                    "--client-id",
                    "bench-consumer",
                    "--batch-max",
                    str(batch_max),
                    "--log-level",
                    os.environ.get("BENCH_LOG", "info"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        while "broker: connected" not in log.read_text():
            if proc.poll() is not None:
                raise RuntimeError(log.read_text())
            time.sleep(0.05)
        cpu0 = cpu_s(proc.pid)
        box: dict[str, float] = {}
        t = threading.Thread(target=lambda: box.update(s=publish_all(url, msgs)))
        t.start()
        rss_peak = 0.0
        while count_events(dsn) < len(msgs):
            rss_peak = max(rss_peak, rss_mb(proc.pid))
            time.sleep(0.05)
        end = time.perf_counter()
        t.join()
        cpu = cpu_s(proc.pid) - cpu0
        proc.terminate()
        proc.wait(15)
        seconds = end - box["s"]
        return {
            "seconds": seconds,
            "events_per_s": len(msgs) / seconds,
            "cpu_s_per_1000": cpu / len(msgs) * 1000,
            "rss_mb_peak": rss_peak,
        }
    finally:
        drop_db(db)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--halls", type=int, default=20)
    ap.add_argument("--batch-max", type=int, default=500)
    args = ap.parse_args()
    msgs = envelopes(args.events, args.halls)
    with tempfile.TemporaryDirectory(prefix="bench-consumer-") as d:
        tmp = Path(d)
        broker = started_broker(tmp, "cloud")
        try:
            base = asyncio.run(baseline(broker.url, msgs))
            cons = consumer_run(broker.url, msgs, args.batch_max, tmp)
        finally:
            broker.stop()
    rows = [
        [
            "broker + counting subscriber (baseline)",
            f"{base['events_per_s']:,.0f}",
            "1.00",
            "-",
            "-",
        ],
        [
            "hall-cloud consume into PostgreSQL",
            f"{cons['events_per_s']:,.0f}",
            f"{cons['events_per_s'] / base['events_per_s']:.2f}",
            f"{cons['cpu_s_per_1000']:.3f}",
            f"{cons['rss_mb_peak']:.0f}",
        ],
    ]
    print_table(
        f"{args.events:,} events from {args.halls} halls, QoS 1, batch_max {args.batch_max}",
        ["path", "events/s", "ratio", "CPU s / 1000 events", "RSS MB"],
        rows,
    )
    save("consumer", {"machine": machine(), "args": vars(args), "baseline": base, "consumer": cons})


if __name__ == "__main__":
    main()
