"""Fixtures of the install tests: a staged root, a config, the shipped broker run from it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.install.layout import Layout
from edge.sim.mosquitto import Mosquitto
from tests.support.hall import write_config
from tests.support.shipped_broker import shipped_broker

HUB_PW = "hub-secret-1"


def staged_config(
    path: Path, hall_url: str, cloud_url: str, devices: list[dict[str, Any]], extra: str = ""
) -> Path:
    """A hall.toml whose hub logs in to the hall broker as `hall-edge`, with two screens."""
    login = {"username": "hall-edge", "password": HUB_PW, "screens": ["screen-1", "screen-2"]}
    return write_config(path, hall_url, cloud_url, devices, extra, tables={"hall_broker": login})


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "root")


@pytest.fixture
def staged_broker(layout: Layout) -> Iterator[Mosquitto]:
    layout.root.mkdir(parents=True, exist_ok=True)
    b = shipped_broker(layout)
    yield b
    b.stop()


class Client:
    """A paho client that records the CONNACK result and the messages it receives."""

    def __init__(
        self,
        port: int,
        user: str | None,
        password: str | None,
        client_id: str = "",
        clean: bool = True,
    ) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.rc: int | None = None
        self.up = threading.Event()
        self.subscribed = threading.Event()
        self.lost = threading.Event()
        self.c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"t-{user}", clean_session=clean
        )
        if user is not None:
            self.c.username_pw_set(user, password)
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = lambda *a: self.lost.set()
        self.c.on_subscribe = lambda *a: self.subscribed.set()
        self.c.on_message = lambda _c, _u, m: self.got.append((m.topic, bytes(m.payload)))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.rc = int(rc.value)
        self.up.set()

    def connected(self, timeout: float = 5.0) -> bool:
        """True when the broker accepted the login (CONNACK 0)."""
        assert self.up.wait(timeout), "no CONNACK"
        return self.rc == 0

    def subscribe(self, topic: str) -> None:
        self.subscribed.clear()
        self.c.subscribe(topic, 1)
        assert self.subscribed.wait(5)

    def topics(self) -> list[str]:
        return [t for t, _ in self.got]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for c in made:
        c.close()
