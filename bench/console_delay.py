"""The hall console's update delay in a real browser: a device event published to the hall
broker → the console's DOM changed (issue #16 asks for it; it wants ≤ 1 s).

Run: .venv/bin/python bench/console_delay.py [--events 50] [--seed 1]

A real hub (edge/sim/console_hall.py: its own Mosquitto brokers, `hall-edge run` with
[http] on a free loopback port) and Debian's Chromium driven by Playwright. The events
alternate: a ticket requested at the kiosk (the queue tab's waiting count changes) and the
spare device going offline or online (the devices tab's badge changes); the page shows
both tabs' tables at once (they are rendered whether shown or not). Each event is timed by
three observers at once, from the same wall-clock instant just before the publish:

- `journal` (baseline): the hub's journaled copy on `hall/events/...`, the hub's own
  delivery without the console;
- `sse`: a plain HTTP client on /api/events sees the changed section;
- `dom`: a MutationObserver in the page sees the changed element.

The gap between events is random (0.25–0.6 s) so events fall anywhere in the console's
coalescing window. Prints p50 / p99 / max of each observer and the ratios to the journal
baseline measured in the same run; writes bench/results/console_delay.json.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as paho  # noqa: E402
from common import loadavg, machine, print_table, save  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from edge.sim.browser import chromium_missing, launch  # noqa: E402
from edge.sim.console_hall import ConsoleHall  # noqa: E402

# Watches the element an event should change; records the wall-clock time it matched.
OBSERVER = """
window.__seen = null;
window.__expect = null;
const check = () => {
  const e = window.__expect;
  if (!e || window.__seen !== null) return;
  const el = document.querySelector(e.selector);
  if (el && (e.text === null || el.textContent === e.text)) {
    window.__seen = performance.timeOrigin + performance.now();
  }
};
window.__arm = (selector, text) => {
  window.__seen = null; window.__expect = {selector, text}; check();
};
// The whole document: the script runs before <body> exists.
new MutationObserver(check).observe(document,
  {subtree: true, childList: true, characterData: true, attributes: true});
"""


@dataclass
class Expected:
    """What one event should change, as each observer sees it."""

    kind: str  # ticket | device
    selector: str
    text: str | None
    sse: Any  # (section, data) -> bool
    journal: Any  # (type, envelope) -> bool
    start: float = 0.0
    seen: dict[str, float] = field(default_factory=dict)


class Watch:
    """The observers outside the page: the hub's hall/events and an SSE client."""

    def __init__(self, hall: ConsoleHall) -> None:
        self.lock = threading.Lock()
        self.expected: Expected | None = None
        self.sections: dict[str, Any] = {}
        self.mqtt = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-watch")
        self.mqtt.on_message = self._on_mqtt
        self.mqtt.connect("127.0.0.1", hall.hall_broker.port)
        self.mqtt.subscribe("hall/events/#", qos=0)
        self.mqtt.loop_start()
        self.sse = http.client.HTTPConnection("127.0.0.1", hall.http_port, timeout=60)
        self.sse.request("GET", "/api/events", headers={"Accept": "text/event-stream"})
        self.stream = self.sse.getresponse()
        self.ready = threading.Event()
        threading.Thread(target=self._read_sse, daemon=True).start()
        self.ready.wait(10)

    def arm(self, expected: Expected) -> None:
        with self.lock:
            self.expected = expected

    def _seen(self, observer: str, hit: Any) -> None:
        now = time.time()
        with self.lock:
            e = self.expected
            if e is not None and e.start and observer not in e.seen and hit(e):
                e.seen[observer] = now

    def _on_mqtt(self, _c: Any, _u: Any, msg: paho.MQTTMessage) -> None:
        envelope = json.loads(msg.payload)
        self._seen("journal", lambda e: e.journal(envelope.get("type"), envelope))

    def _read_sse(self) -> None:
        # The stream closes under the reader at close(): the run is over then.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self._read_events()

    def _read_events(self) -> None:
        name = ""
        for raw in self.stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                if name == "state":
                    self.sections.update(data)
                    self.ready.set()
                else:
                    self.sections[name] = data
                self._seen("sse", lambda e, n=name, d=data: e.sse(n, d))

    def waiting(self, code: str) -> int:
        services = self.sections["queue"]["services"]
        return int(next(s for s in services if s["service"] == code)["waiting"])

    def close(self) -> None:
        self.mqtt.loop_stop()
        self.mqtt.disconnect()
        self.sse.close()


def ticket_event(hall: ConsoleHall, watch: Watch) -> tuple[Expected, Any]:
    want = watch.waiting("payment") + 1
    request_id = f"bench-{time.time_ns()}"

    def sse(name: str, data: Any) -> bool:
        services = data.get("services", []) if name == "queue" else []
        return any(s["service"] == "payment" and s["waiting"] >= want for s in services)

    def journal(etype: str, env: Any) -> bool:
        return etype == "queue.ticket.issued" and env["data"].get("request_id") == request_id

    selector = '[data-service="payment"][data-field="waiting"]'
    exp = Expected("ticket", selector, str(want), sse, journal)
    data = {"request_id": request_id, "service": "payment"}
    return exp, lambda: hall.publish("kiosk-1", "queue.ticket.requested", data)


def device_event(hall: ConsoleHall, online: bool) -> tuple[Expected, Any]:
    def sse(name: str, data: Any) -> bool:
        return name == "devices" and any(
            d["id"] == "spare-1" and d["online"] is online for d in data
        )

    def journal(etype: str, env: Any) -> bool:
        wanted = "device.online" if online else "device.offline"
        return etype == wanted and env.get("deviceid") == "spare-1"

    selector = f'[data-device="spare-1"][data-online="{str(online).lower()}"]'
    return Expected("device", selector, None, sse, journal), lambda: hall.set_online(
        "spare-1", online
    )


def one_event(page: Any, watch: Watch, exp: Expected, publish: Any) -> Expected:
    page.evaluate("([s, t]) => window.__arm(s, t)", [exp.selector, exp.text])
    watch.arm(exp)
    exp.start = time.time()
    publish()
    page.wait_for_function("window.__seen !== null", timeout=10_000, polling=20)
    exp.seen["dom"] = float(page.evaluate("window.__seen")) / 1000
    deadline = time.monotonic() + 5
    while len(exp.seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    return exp


def nearest_rank(values: list[float], q: int) -> float:
    """The value at rank ⌈q/100 · n⌉ of the sorted values (docs/kpi.md's percentile)."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * q // 100) - 1)] if ordered else float("nan")


def run(n: int, seed: int) -> list[Expected]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    rng = random.Random(seed)
    done: list[Expected] = []
    with tempfile.TemporaryDirectory() as tmp, ConsoleHall(Path(tmp)) as hall:
        hall.set_online("spare-1", True)
        watch = Watch(hall)
        with sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            page.add_init_script(OBSERVER)
            page.goto(f"{hall.url}/#queue")
            page.wait_for_selector("#live[data-live=true]", timeout=10_000)
            page.wait_for_selector(
                '[data-device="spare-1"][data-online="true"]', timeout=10_000, state="attached"
            )
            online = True
            for i in range(n):
                if i % 2 == 0:
                    exp, publish = ticket_event(hall, watch)
                else:
                    online = not online
                    exp, publish = device_event(hall, online)
                done.append(one_event(page, watch, exp, publish))
                time.sleep(rng.uniform(0.25, 0.6))
            browser.close()
        watch.close()
    return done


def summarise(events: list[Expected]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("all", "ticket", "device"):
        chosen = [e for e in events if kind in ("all", e.kind)]
        for observer in ("journal", "sse", "dom"):
            ms = [1000 * (e.seen[observer] - e.start) for e in chosen if observer in e.seen]
            out[f"{kind}.{observer}"] = {
                "n": len(ms),
                "missed": len(chosen) - len(ms),
                "p50_ms": round(nearest_rank(ms, 50), 1),
                "p99_ms": round(nearest_rank(ms, 99), 1),
                "max_ms": round(max(ms), 1) if ms else None,
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    missing = chromium_missing()
    if missing:
        sys.exit(f"console_delay: {missing}")
    events = run(args.events, args.seed)
    figures = summarise(events)
    rows = [
        [key, f["n"], f["missed"], f["p50_ms"], f["p99_ms"], f["max_ms"]]
        for key, f in figures.items()
    ]
    print_table("publish → seen (ms)", ["kind.observer", "n", "missed", "p50", "p99", "max"], rows)
    base = figures["all.journal"]
    for observer in ("sse", "dom"):
        f = figures[f"all.{observer}"]
        print(
            f"ratio {observer} / journal: p50 {f['p50_ms'] / base['p50_ms']:.1f}, "
            f"p99 {f['p99_ms'] / base['p99_ms']:.1f}"
        )
    sse = figures["all.sse"]
    dom = figures["all.dom"]
    print(
        f"ratio dom / sse (the page's own share): p50 {dom['p50_ms'] / sse['p50_ms']:.2f}, "
        f"p99 {dom['p99_ms'] / sse['p99_ms']:.2f}"
    )
    print(f"console delay (publish → DOM): p50 {dom['p50_ms']} ms, p99 {dom['p99_ms']} ms")
    print(f"load average: {' '.join(loadavg())}")
    save(
        "console_delay",
        {"machine": machine(), "events": args.events, "seed": args.seed, "figures": figures},
    )


if __name__ == "__main__":
    main()
