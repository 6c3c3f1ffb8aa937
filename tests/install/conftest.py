"""Fixtures of the install tests: a staged root, a config, the shipped broker run from it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.install.files import broker_conf
from edge.install.layout import Layout
from tests.support.broker import free_port
from tests.support.hall import write_config

HUB_PW = "hub-secret-1"


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def staged_config(
    path: Path, hall_url: str, cloud_url: str, devices: list[dict[str, Any]], extra: str = ""
) -> Path:
    """A hall.toml whose hub logs in to the hall broker as `hall-edge`, with two screens."""
    write_config(path, hall_url, cloud_url, [], extra=extra)
    text = path.read_text().replace(
        f'url = "{hall_url}"\n',
        f'url = "{hall_url}"\nusername = "hall-edge"\npassword = "{HUB_PW}"\n'
        'screens = ["screen-1", "screen-2"]\n',
        1,
    )
    for d in devices:
        text += "\n[[devices]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in d.items())
    path.write_text(text)
    return path


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "root")


class StagedBroker:
    """The shipped mosquitto-hall.conf as `install` renders it for a staged root, rewritten
    only for a free loopback port and a pid file (and `user root` when run as root)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.port = free_port()
        self.exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(self.exe).exists() or shutil.which("mosquitto_passwd") is None:
            pytest.skip("mosquitto is not installed (./hall setup installs it)")
        conf = broker_conf(layout).replace("listener 1883", f"listener {self.port} 127.0.0.1")
        layout.broker_pid.parent.mkdir(parents=True, exist_ok=True)
        layout.broker_state.mkdir(parents=True, exist_ok=True)
        conf += f"pid_file {layout.broker_pid}\n"
        if os.geteuid() == 0:
            conf += "user root\n"  # else it drops to `mosquitto`, which cannot read tmp files
        self.conf = layout.root / "test-mosquitto.conf"
        self.conf.write_text(conf)
        self.log = layout.root / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=out, stderr=out)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                # The pid file is written before the listener opens.
                return
            time.sleep(0.05)
        self.stop()
        raise AssertionError(self.log.read_text() or "mosquitto did not listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def staged_broker(layout: Layout) -> Iterator[StagedBroker]:
    layout.root.mkdir(parents=True, exist_ok=True)
    b = StagedBroker(layout)
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
