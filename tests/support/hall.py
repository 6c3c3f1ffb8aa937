"""A real hub process and real MQTT peers (device publisher, cloud subscriber) for tests."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.sim import processes
from edge.sim.hall_config import Table, Tables, hub_tables, write_hall_toml
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


class HubProcess(processes.LoggedProcess):
    """`hall-edge run` in a subprocess, so tests can SIGKILL it like a power cut would."""

    def __init__(self, config: Path) -> None:
        super().__init__(
            [sys.executable, "-m", "edge.cli", "run", "-c", str(config)],
            config.parent / "hub.log",
            cwd=config.parent,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.config = config

    def start(self, wait: bool = True, timeout: float = 20.0) -> None:
        self.launch()
        if wait:
            self.wait_connected(timeout)

    def wait_connected(self, timeout: float = 20.0) -> None:
        self.wait_log("hall broker: connected", "cloud: connected", timeout=timeout)


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


class DevicePublisher:
    """A device (or many) publishing QoS 1 events with flow control, like a real gateway."""

    def __init__(self, url: str, client_id: str = "test-devices", window: int = 100) -> None:
        port = int(url.rsplit(":", 1)[1])
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True
        )
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        self.window = threading.Semaphore(window)
        self._qos1: set[int] = set()
        self.client.on_publish = self._on_publish
        self.client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(
        self, topic: str, payload: dict[str, Any] | bytes, qos: int = 1, retain: bool = False
    ) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if qos and not self.window.acquire(timeout=60):
            raise RuntimeError("no PUBACK from the hall broker for 60 s")
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
