"""A real hub process and real MQTT peers (device publisher, cloud subscriber) for tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = Path(__file__).resolve().parents[2]


def write_config(
    path: Path,
    hall_url: str,
    cloud_url: str,
    devices: list[dict[str, Any]] | None = None,
    extra: str = "",
    hall_id: str = "test-hall",
) -> Path:
    devices = devices if devices is not None else [{"id": "pad-1", "profile": "generic-mqtt"}]
    lines = [
        "[hall]",
        f'id = "{hall_id}"',
        "[hall_broker]",
        f'url = "{hall_url}"',
        "[cloud]",
        f'url = "{cloud_url}"',
        "backoff_min_s = 0.2",
        "backoff_max_s = 2.0",
        "[store]",
        'path = "hall.db"',
        'synchronous = "normal"',
    ]
    body = "\n".join(lines) + "\n" + extra + "\n"
    for d in devices:
        body += "\n[[devices]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in d.items())
    path.write_text(body)
    return path


class HubProcess:
    """`hall-edge run` in a subprocess, so tests can SIGKILL it like a power cut would."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = config.parent / "hub.log"
        self.runs = 0

    def start(self, wait: bool = True, timeout: float = 20.0) -> None:
        self.runs += 1
        with self.log.open("ab") as out:
            out.write(f"--- run {self.runs}\n".encode())
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "run", "-c", str(self.config)],
                cwd=self.config.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        if wait:
            self.wait_connected(timeout)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_connected(self, timeout: float = 20.0) -> None:
        marker = f"--- run {self.runs}\n"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text().split(marker)[-1]
            if "hall broker: connected" in text and "cloud: connected" in text:
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"hub exited with {self.proc.returncode}:\n{text}")
            time.sleep(0.05)
        raise RuntimeError(f"hub did not connect in time:\n{self.log_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode or 0)


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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what or predicate}")

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
