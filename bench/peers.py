"""The hub's neighbours in a benchmark, each in its own process: the devices (a load
generator), the cloud (a consumer timing every event), and the raw relay baseline.

Times are CLOCK_MONOTONIC nanoseconds (`time.monotonic_ns`), the same clock in every
process of the machine, so a latency is the consumer's arrival time minus the time the
generator put into the event.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.queues
import multiprocessing.sharedctypes
import multiprocessing.synchronize
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as paho
from common import HALL_ID
from paho.mqtt.enums import CallbackAPIVersion

Results = multiprocessing.queues.Queue  # what a peer reports back, once, at its end


def _client(url: str, client_id: str, mqtt5: bool = False) -> paho.Client:
    proto = paho.MQTTv5 if mqtt5 else paho.MQTTv311
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=proto)
    # Our own window below; paho's unlimited settings keep its bookkeeping O(1).
    c.max_inflight_messages_set(0)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", int(url.rsplit(":", 1)[1]))
    return c


class _Window:
    """At most `size` QoS 1 publishes without PUBACK (what a well-behaved gateway does)."""

    def __init__(self, client: paho.Client, size: int) -> None:
        self.sem = threading.Semaphore(size)
        client.on_publish = lambda *_a: self.sem.release()

    def take(self) -> None:
        if not self.sem.acquire(timeout=120):
            raise RuntimeError("no PUBACK for 120 s")


# -- devices -------------------------------------------------------------------------------
def generate(
    url: str,
    count: int,
    rate: float | None,
    prefix: str,
    go: mp.synchronize.Event,
    out: Results[dict[str, Any]],
    devices: int = 10,
    window: int = 200,
    until: mp.synchronize.Event | None = None,
    event_path: str = "rating/submitted",
) -> None:
    """Publish `count` rating events (QoS 1), paced at `rate`/s or as fast as acknowledged;
    stop early when `until` is set. `event_path`: the topic's event type (the rating's
    fields either way)."""
    c = _client(url, f"gen-{prefix}")
    win = _Window(c, window)
    c.loop_start()
    enc = msgspec.json.Encoder()
    topics = [f"hall/devices/dev-{d}/events/{event_path}" for d in range(devices)]
    go.wait()
    t0 = time.monotonic_ns()
    period = 0 if rate is None else int(1e9 / rate)
    late = 0
    sent = 0
    for i in range(count):
        if until is not None and until.is_set():
            break
        if period:
            due = t0 + i * period
            now = time.monotonic_ns()
            if due > now:
                time.sleep((due - now) / 1e9)
            elif now - due > 10_000_000:
                late += 1  # more than 10 ms behind schedule
        win.take()
        body = {
            "id": f"{prefix}-{i}",
            "rating_id": f"R{i:08d}",
            "counter": 1 + i % 12,
            "staff_id": f"S{i % 40:03d}",
            "ticket_no": f"A{i % 1000:03d}",
            "level": 3 + i % 3,
            "dimensions": {"attitude": 5, "efficiency": 4, "competence": 5},
            "t": time.monotonic_ns(),
        }
        c.publish(topics[i % devices], enc.encode(body), qos=1)
        sent += 1
    t1 = time.monotonic_ns()
    for _ in range(window):  # every PUBACK back
        win.take()
    c.loop_stop()
    c.disconnect()
    out.put({"sent": sent, "t0": t0, "t1": t1, "late": late})


# -- the cloud -----------------------------------------------------------------------------
class _Seen(msgspec.Struct):
    id: str = ""
    hallseq: int = 0
    resent: bool = False
    data: dict[str, Any] | None = None
    t: int | None = None  # the relay forwards the device payload as is


Expect = int | multiprocessing.sharedctypes.Synchronized  # type: ignore[type-arg]


def consume(
    url: str,
    expect: Expect,
    ready: mp.synchronize.Event,
    out: Results[dict[str, Any]],
    idle_s: float = 30.0,
    max_s: float = 3600.0,
    track_seqs: int = 0,
    progress: multiprocessing.sharedctypes.Synchronized | None = None,  # type: ignore[type-arg]
    qos: int = 1,
    topic: str = "#",
) -> None:
    """Count events (under `halls/{hall}/events/{topic}`) until `expect` distinct ids
    arrived (or `idle_s` without any); report arrival times, latencies of events carrying
    `t`, copies and `resent` marks. `expect`
    may be a shared value the parent raises while the run goes on; `progress`, if given,
    follows the number of events marked `resent` (every 1,000). `qos` 0 spares the consumer
    a PUBACK per message (a faster cloud; the benchmarks' brokers queue without a limit, so
    nothing is dropped)."""
    import numpy as np  # noqa: PLC0415 - here, so that the relay's RSS does not carry numpy

    decode = msgspec.json.Decoder(_Seen).decode
    ids: set[str] = set()
    lat: list[int] = []  # ns, events with a device time
    live_lat: list[int] = []  # ns, events not marked resent
    seqs = np.zeros(track_seqs + 1, dtype=np.bool_) if track_seqs else None
    stats = {"copies": 0, "resent": 0, "first": 0, "last": 0, "last_resent": 0, "first_resent": 0}
    done = threading.Event()

    def on_message(_c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        now = time.monotonic_ns()
        e = decode(msg.payload)
        stats["copies"] += 1
        if not stats["first"]:
            stats["first"] = now
        stats["last"] = now
        if e.resent:
            stats["resent"] += 1
            if progress is not None and stats["resent"] % 1000 == 0:
                progress.value = stats["resent"]
            stats["last_resent"] = now
            if not stats["first_resent"]:
                stats["first_resent"] = now
        t = e.t if e.t is not None else (e.data or {}).get("t")
        if t is not None:
            lat.append(now - t)
            if not e.resent:
                live_lat.append(now - t)
        if seqs is not None and 0 < e.hallseq <= track_seqs:
            seqs[e.hallseq] = True
        ids.add(e.id or str(e.hallseq))
        if len(ids) >= (expect if isinstance(expect, int) else expect.value):
            done.set()

    name = "bench-cloud" if topic == "#" else "bench-cloud-" + topic.replace("/", "-")
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=name, clean_session=True)
    c.on_message = on_message
    subscribed = threading.Event()
    c.on_subscribe = lambda *_a: subscribed.set()
    c.on_connect = lambda cl, *_a: cl.subscribe(f"halls/{HALL_ID}/events/{topic}", qos)
    c.connect("127.0.0.1", int(url.rsplit(":", 1)[1]))
    c.loop_start()
    subscribed.wait(10)
    ready.set()
    started = time.monotonic()
    last_count = -1
    while not done.wait(0.5):
        if not isinstance(expect, int) and len(ids) >= expect.value:
            break
        if time.monotonic() - started > max_s:
            break
        quiet_since = max(started, stats["last"] / 1e9)  # monotonic_ns and monotonic: one clock
        if stats["copies"] == last_count and time.monotonic() - quiet_since > idle_s:
            break
        last_count = stats["copies"]
    c.loop_stop()
    c.disconnect()
    out.put(
        {
            "unique": len(ids),
            **stats,
            "latency_ms": _percentiles(lat),
            "live_latency_ms": _percentiles(live_lat),
            "live": len(live_lat),
            "seqs_seen": int(seqs.sum()) if seqs is not None else None,
        }
    )


def _percentiles(ns: list[int]) -> dict[str, float]:
    import numpy as np  # noqa: PLC0415 - see consume()

    if not ns:
        return {}
    a = np.asarray(ns, dtype=np.float64) / 1e6
    p = np.percentile(a, [50, 90, 99, 99.9])
    return {
        "p50": round(float(p[0]), 2),
        "p90": round(float(p[1]), 2),
        "p99": round(float(p[2]), 2),
        "p99.9": round(float(p[3]), 2),
        "max": round(float(a.max()), 2),
        "n": len(ns),
    }


# -- the baseline --------------------------------------------------------------------------
def relay(hall_url: str, cloud_url: str, ready: mp.synchronize.Event, window: int = 100) -> None:
    """Raw relay: subscribe on the hall broker, publish each message to the cloud broker at
    QoS 1, same topics as the hub's, no journal, no envelope. The subscription is acked by
    paho as soon as the callback returns, and the callback waits only for a window slot."""
    pub = _client(cloud_url, "bench-relay-pub")
    win = _Window(pub, window)
    pub.loop_start()
    prefix = len("hall/devices/")

    def on_message(_c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        # hall/devices/{id}/events/{path} -> halls/{hall}/events/{path}
        path = msg.topic[prefix:].split("/", 2)[2]
        win.take()
        pub.publish(f"halls/{HALL_ID}/events/{path}", msg.payload, qos=1)

    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-relay-sub", clean_session=True)
    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.on_connect = lambda cl, *_a: cl.subscribe("hall/devices/+/events/#", 1)
    sub.connect("127.0.0.1", int(hall_url.rsplit(":", 1)[1]))
    sub.loop_start()
    subscribed.wait(10)
    ready.set()
    threading.Event().wait()  # until terminated


def start_relay(hall_url: str, cloud_url: str) -> subprocess.Popen[str]:
    """The relay as a fresh interpreter, returned once it is subscribed."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "relay", hall_url, cloud_url],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the relay did not start")
    return proc


def spawn(target: Callable[..., None], *args: Any) -> mp.Process:
    p = mp.Process(target=target, args=args, daemon=True)
    p.start()
    return p


def main() -> None:
    """`python bench/peers.py relay HALL_URL CLOUD_URL`: the relay as a fresh process (its
    RSS then is its own, not a fork's copy of the benchmark's), "ready" on stdout."""
    if len(sys.argv) != 4 or sys.argv[1] != "relay":
        raise SystemExit(main.__doc__)
    ready = mp.get_context("fork").Event()
    threading.Thread(target=lambda: (ready.wait(), print("ready", flush=True)), daemon=True).start()
    relay(sys.argv[2], sys.argv[3], ready)


if __name__ == "__main__":
    main()
