"""The cloud side of the demo: one MQTT client on the cloud broker that watches the hall's
topics (feeding a CloudTally) and sends the commands of the simulated cloud platform."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.demo.tally import CloudTally
from edge.errors import EdgeError

log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()


class CloudWatcher:
    """Subscribes to `halls/{hall}/#` at QoS 1 before the hub starts, so it sees everything."""

    def __init__(self, cloud_url: str, tally: CloudTally, client_id: str = "demo-cloud") -> None:
        parts = urlsplit(cloud_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1883
        self.tally = tally
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self._ids = itertools.count(1)
        self.sent: dict[str, str] = {}  # cmd_id -> "device/name", for the summary

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe(f"halls/{self.tally.hall_id}/#", qos=1)

    def _on_subscribe(self, *_args: Any) -> None:
        self.subscribed.set()

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        try:
            self.tally.on_message(msg.topic, bytes(msg.payload), time.monotonic())
        except Exception:
            # paho re-raises callback errors in its network thread, which would end the
            # watcher: one odd message must not blind the dashboard.
            log.exception("cloud watcher: cannot count a message on %s", msg.topic)

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect and subscribe; EdgeError when the cloud broker cannot be reached."""
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise EdgeError(f"cloud broker {self.host}:{self.port}: {exc}") from None
        self.client.loop_start()
        if not self.subscribed.wait(timeout_s):
            self.stop()
            raise EdgeError(f"cloud broker {self.host}:{self.port}: no subscription in time")

    def command(self, device_id: str, name: str, args: Mapping[str, Any]) -> str:
        """Publish a cloud command for the hall (QoS 1); returns its cmd_id."""
        cmd_id = f"demo-{next(self._ids):05d}"
        self.sent[cmd_id] = f"{device_id}/{name}"
        topic = f"halls/{self.tally.hall_id}/commands/{device_id}/{name}"
        self.client.publish(topic, _json.encode({"cmd_id": cmd_id, "args": dict(args)}), qos=1)
        return cmd_id

    def stop(self) -> None:
        """Disconnect and stop the network thread; safe to call twice."""
        self.client.disconnect()
        self.client.loop_stop()
