"""The hub's own account of itself: `hall/hub/metrics` (retained, every 5 s) and
`hall/hub/state`, as a hall screen or an installer's laptop on the hall broker sees them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


class MetricsWatch:
    """Keeps every metrics snapshot the hub publishes, with the time it arrived."""

    def __init__(self, url: str, client_id: str = "fault-metrics") -> None:
        port = int(url.rsplit(":", 1)[1])
        self.lock = threading.Lock()
        self.snapshots: list[tuple[float, dict[str, Any]]] = []
        self.hub_states: list[str] = []
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.reconnect_delay_set(1, 2)
        ready = threading.Event()
        self.client.on_connect = lambda c, *_a: c.subscribe("hall/hub/#", 0)
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not ready.wait(10):
            raise RuntimeError("the metrics watcher could not subscribe")

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        if not msg.payload:
            return
        body = json.loads(msg.payload)
        with self.lock:
            if msg.topic == "hall/hub/metrics":
                self.snapshots.append((time.monotonic(), body))
            elif msg.topic == "hall/hub/state":
                self.hub_states.append(str(body.get("state")))

    def latest(self) -> dict[str, Any]:
        with self.lock:
            return self.snapshots[-1][1] if self.snapshots else {}

    def since(self, t0: float) -> list[dict[str, Any]]:
        """Snapshots that arrived after monotonic time `t0`."""
        with self.lock:
            return [m for t, m in self.snapshots if t > t0]

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        """The first snapshot from now on (or the latest) for which `predicate` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.latest()
            if m and predicate(m):
                return m
            time.sleep(0.1)
        raise AssertionError(
            f"timed out after {timeout:.0f} s waiting for metrics: {what}; last {self.latest()}"
        )

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
