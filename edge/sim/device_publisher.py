"""A device (or many) publishing QoS 1 events to the hall broker with flow control, like a
real gateway: at most `window` publishes wait for their PUBACK at a time."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.errors import EdgeError


class DevicePublisher:
    def __init__(self, url: str, client_id: str = "test-devices", window: int = 100) -> None:
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True
        )
        # paho's own queues unbounded: the window below is the only limit.
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        self.window = threading.Semaphore(window)
        self._qos1: set[int] = set()
        self.client.on_publish = self._on_publish
        # paho's annotation says int; it sleeps any number of seconds, and a short outage
        # of the hall broker should cost a fraction of one.
        self.client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        self.client.connect("127.0.0.1", urlsplit(url).port or 1883)
        self.client.loop_start()

    def publish(
        self, topic: str, payload: dict[str, Any] | bytes, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish (a dict as JSON); for QoS 1, first wait up to 60 s for room in the window."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if qos and not self.window.acquire(timeout=60):
            raise EdgeError("no PUBACK from the hall broker for 60 s")
        info = self.client.publish(topic, body, qos=qos, retain=retain)
        if qos:
            self._qos1.add(info.mid)

    def _on_publish(self, _c: Any, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        if mid in self._qos1:
            self._qos1.discard(mid)
            self.window.release()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
