"""Per-device fairness on the hall link: does a flooding device delay another's events?

One device floods at `--flood` messages/s (QoS 1, paced) while a quiet device sends 20
events/s, each stamped with its send time; a cloud subscriber measures the quiet events'
delay device -> hub -> cloud. The same quiet stream without the flood is the baseline, in
the same run. Issue #15's target: the quiet device's events delayed at most 100 ms.

    .venv/bin/python bench/fairness.py [--flood 5000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import HubRun, print_table, started_broker, write_hub_config

QUIET_RATE = 20.0


class CloudClock:
    """Receives the quiet device's envelopes and notes each one's delay."""

    def __init__(self, url: str) -> None:
        self.delays_ms: list[float] = []
        self.flood_seen = 0
        self.lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="fair-cloud")
        self.client.on_connect = lambda c, *_a: c.subscribe("halls/bench/events/#", 1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", int(url.rsplit(":", 1)[1]))
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, msg: paho.MQTTMessage) -> None:
        now = time.time()
        env = json.loads(msg.payload)
        with self.lock:
            if env["deviceid"] == "dev-1":
                self.delays_ms.append((now - float(env["data"]["sent"])) * 1000)
            else:
                self.flood_seen += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _paced(url: str, client_id: str, topic: str, rate: float, seconds: float, quiet: bool) -> int:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", int(url.rsplit(":", 1)[1]))
    client.loop_start()
    t0 = time.monotonic()
    n = 0
    try:
        while time.monotonic() - t0 < seconds:
            due = t0 + n / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body: dict[str, Any] = {"n": n, "level": 4}
            if quiet:
                body["sent"] = time.time()
            client.publish(topic, json.dumps(body), qos=1)
            n += 1
    finally:
        time.sleep(0.5)
        client.loop_stop()
        client.disconnect()
    return n


def run(flood: float, seconds: float, folder: Path) -> dict[str, Any]:
    hall, cloud = started_broker(folder, "hall"), started_broker(folder, "cloud")
    cfg = write_hub_config(folder, hall.url, cloud.url, devices=2)
    hub = HubRun(cfg)
    hub.start()
    hub.wait_connected()
    clock = CloudClock(cloud.url)
    time.sleep(0.5)
    sent_flood = 0
    try:
        threads = []
        result: dict[str, int] = {}
        if flood > 0:

            def flood_run() -> None:
                result["flood"] = _paced(
                    hall.url,
                    "fair-flood",
                    "hall/devices/dev-0/events/footfall/counted",
                    flood,
                    seconds,
                    False,
                )

            threads.append(threading.Thread(target=flood_run))
        threads.append(
            threading.Thread(
                target=lambda: result.update(
                    quiet=_paced(
                        hall.url,
                        "fair-quiet",
                        "hall/devices/dev-1/events/rating/submitted",
                        QUIET_RATE,
                        seconds,
                        True,
                    )
                )
            )
        )
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sent_flood = result.get("flood", 0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(clock.delays_ms) < result["quiet"]:
            time.sleep(0.1)
    finally:
        clock.close()
        hub.stop()
        hall.stop()
        cloud.stop()
    d = sorted(clock.delays_ms)
    return {
        "flood_rate": flood,
        "flood_sent": sent_flood,
        "flood_rate_real": round(sent_flood / seconds),
        "quiet_sent": result["quiet"],
        "quiet_seen": len(d),
        "p50_ms": round(statistics.median(d), 2) if d else None,
        "p99_ms": round(d[int(len(d) * 0.99) - 1], 2) if d else None,
        "max_ms": round(d[-1], 2) if d else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flood", type=float, default=5000.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    rows = []
    for flood in (0.0, args.flood):
        with tempfile.TemporaryDirectory(prefix="fairness-") as tmp:
            r = run(flood, args.seconds, Path(tmp))
        rows.append(
            [
                "none (baseline)" if flood == 0 else f"{r['flood_rate_real']}/s",
                f"{r['quiet_seen']}/{r['quiet_sent']}",
                r["p50_ms"],
                r["p99_ms"],
                r["max_ms"],
            ]
        )
    print_table(
        "quiet device's events while another floods (device -> hub -> cloud)",
        ["flood", "quiet events", "p50 ms", "p99 ms", "max ms"],
        rows,
    )


if __name__ == "__main__":
    main()
