"""The cloud side of command tests (an MQTT 5 application) and a device that answers."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties

HALL = "test-hall"


class FakeDevice:
    """A generic-convention device on the hall broker that answers its commands."""

    def __init__(self, url: str, device_id: str, code: int | None) -> None:
        self.device_id, self.code = device_id, code
        self.received: list[dict[str, Any]] = []
        port = int(url.rsplit(":", 1)[1])
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{device_id}")
        self.client.will_set(f"hall/devices/{device_id}/state", b'{"state":"offline"}', 1, True)
        ready = threading.Event()
        self.client.on_connect = lambda c, *a: c.subscribe(
            f"hall/devices/{device_id}/commands/#", 1
        )
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10)
        self.client.publish(f"hall/devices/{device_id}/state", b'{"state":"online"}', 1, True)

    def _on_message(self, c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        self.received.append({"topic": msg.topic, **body})
        if self.code is not None:
            reply = {
                "cmd_id": body["cmd_id"],
                "code": self.code,
                "msg": "printer jammed" if self.code == 500 else "ok",
                "data": {"echo": body},
            }
            c.publish(f"hall/devices/{self.device_id}/replies", json.dumps(reply).encode(), 1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class CloudClient:
    """The cloud side: sends commands (MQTT 5) and collects replies."""

    def __init__(self, url: str, hall: str = HALL) -> None:
        self.hall = hall
        port = int(url.rsplit(":", 1)[1])
        self.replies: list[tuple[str, dict[str, Any], Any]] = []
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id="cloud-app", protocol=paho.MQTTv5
        )
        ready = threading.Event()
        self.client.on_connect = lambda c, *a: c.subscribe(
            [(f"halls/{self.hall}/replies/#", 1), ("app/responses/#", 1)]
        )
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = lambda c, u, m: self.replies.append(
            (m.topic, json.loads(m.payload), m.properties)
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10)

    def send(
        self, device: str, name: str, body: dict[str, Any] | bytes, props: Properties | None = None
    ) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.client.publish(
            f"halls/{self.hall}/commands/{device}/{name}", payload, 1, properties=props
        )

    def wait_reply(
        self, cmd_id: str, code: int | None = None, timeout: float = 20.0, count: int = 1
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [
                r
                for t, r, _ in self.replies
                if t.startswith(f"halls/{self.hall}/replies/")
                and r.get("cmd_id") == cmd_id
                and (code is None or r["code"] == code)
            ]
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"no reply {code} for {cmd_id}: {[r for _, r, _ in self.replies]}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
