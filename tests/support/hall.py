"""A test hub's config and started process, and a cloud subscriber that records what the
hub sends (the hub process and the device publisher are edge/sim's)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.sim.hall_config import Table, Tables, hub_tables, write_hall_toml
from edge.sim.hub_process import HubProcess
from tests.support.waits import wait_until

ROOT = Path(__file__).resolve().parents[2]


PAD: Table = {"id": "pad-1", "profile": "generic-mqtt"}  # a test hall's one device


def write_config(
    path: Path,
    hall_url: str,
    cloud_url: str,
    devices: Sequence[Table] | None = None,
    extra: str = "",
    hall_id: str = "test-hall",
    tables: Tables | None = None,
) -> Path:
    """A test hub's hall.toml: the one generic MQTT `PAD` unless `devices` are given, a journal
    without an fsync per batch; `tables` change or add tables, `extra` is TOML text after
    them (bare keys there belong to the last table: [store] unless `tables` add one)."""
    devices = devices if devices is not None else [PAD]
    quick = {"store": {"synchronous": "normal"}}
    return write_hall_toml(
        path, hub_tables(hall_url, cloud_url, hall_id, quick, tables or {}), devices, extra
    )


PAYMENT: Table = {
    "code": "payment",
    "letter": "A",
    "name_zh": "缴费",
    "name_en": "Payment",
    "norm_min": 5,
}


def queue_tables(*counters: Table, services: Sequence[Table] = (PAYMENT,), **queue: Any) -> Tables:
    """A [queue] with `services` and `counters`, open all day but its first minute: a test
    runs at any hour, and the queue's day turns at midnight. `queue`: more [queue] keys."""
    return {
        "queue": {"reset_at": "00:00", **queue},
        "queue.opening_hours": {"open": "00:01", "close": "23:59"},
        "queue.services": list(services),
        "queue.counters": list(counters),
    }


def started_hub(folder: Path, hall_url: str, cloud_url: str, **config: Any) -> HubProcess:
    """A hub on `write_config(folder / "hall.toml", ...)`, started and connected."""
    hub = HubProcess(write_config(folder / "hall.toml", hall_url, cloud_url, **config))
    hub.start()
    return hub


class Collector:
    """A cloud consumer: persistent QoS 1 subscription that records every message."""

    def __init__(
        self, url: str, topics: list[str], client_id: str = "test-cloud", mqtt5: bool = False
    ) -> None:
        port = int(url.rsplit(":", 1)[1])
        self.messages: list[tuple[str, bytes, Any]] = []
        self.lock = threading.Lock()
        proto = paho.MQTTv5 if mqtt5 else paho.MQTTv311
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if mqtt5 else False,
            protocol=proto,
        )
        # paho's annotation says int; it sleeps any number of seconds, and tests want 0.1.
        self.client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        self.topics = topics
        self.subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        if mqtt5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
            self.client.connect("127.0.0.1", port, properties=props, clean_start=False)
        else:
            self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise RuntimeError("collector could not subscribe")

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        client.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), getattr(msg, "properties", None)))

    def envelopes(self, prefix: str = "") -> list[dict[str, Any]]:
        with self.lock:
            msgs = list(self.messages)
        out = []
        for topic, payload, _p in msgs:
            if "/events/" in topic and topic.startswith(prefix):
                out.append(json.loads(payload))
        return out

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 60.0, what: str = ""
    ) -> None:
        wait_until(predicate, timeout, what or str(predicate))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
