"""A small hall for the console's browser tests and its delay benchmark: its own hall and
cloud Mosquitto, a hub process with `[http]` on a free loopback port and one console user,
and generic MQTT devices to publish from (a ticket kiosk, two counter callers, counter 1's
rating pad, an invoice printer, a spare device to take offline)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from edge.errors import EdgeError
from edge.sim.device_publisher import DevicePublisher
from edge.sim.hall_config import Table, Tables, hub_tables, write_hall_toml
from edge.sim.hub_process import HubProcess, source_env
from edge.sim.mosquitto import Mosquitto, free_port

HALL_EDGE = [sys.executable, "-m", "edge.cli"]
HALL_ID = "console-hall"
HALL_NAME = "城东营业厅"
USER, PASSWORD = "duty", "hall-console-8"
DEVICES: list[Table] = [
    {"id": "kiosk-1", "profile": "generic-mqtt", "name": "取号机"},
    {"id": "caller-1", "profile": "generic-mqtt", "name": "1号呼叫器"},
    {"id": "caller-2", "profile": "generic-mqtt", "name": "2号呼叫器"},
    {"id": "spare-1", "profile": "generic-mqtt", "name": "备用终端"},
    {"id": "printer-1", "profile": "generic-mqtt", "name": "发票打印机"},
    {"id": "pad-1", "profile": "generic-mqtt", "name": "1号评价器"},
]
SERVICES: list[Table] = [
    {"code": "payment", "letter": "A", "name_zh": "缴费", "name_en": "Payment", "norm_min": 5},
    {
        "code": "consultation",
        "letter": "B",
        "name_zh": "咨询",
        "name_en": "Consultation",
        "norm_min": 20,
    },
]


def console_tables(http_port: int, users_file: str) -> Tables:
    """[http] on `http_port`, a queue of two services and two counters open all day but its
    first minute (a test runs at any hour; the queue's day turns at midnight)."""
    return {
        "hall": {"name": HALL_NAME},
        "http": {"listen": f"127.0.0.1:{http_port}", "users_file": users_file},
        "queue": {"reset_at": "00:00", "status_min_interval_s": 0.2},
        "queue.opening_hours": {"open": "00:01", "close": "23:59"},
        "queue.services": SERVICES,
        "queue.counters": [
            {
                "number": 1,
                "services": ["payment", "consultation"],
                "caller": "caller-1",
                "rating_pad": "pad-1",
            },
            {"number": 2, "services": ["consultation", "payment"], "caller": "caller-2"},
        ],
    }


class ConsoleHall:
    """Started by `start()` (or `with`), stopped by `stop()`; `url` is the console's."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.hall_broker = Mosquitto(folder / "hall-broker")
        self.cloud_broker = Mosquitto(folder / "cloud-broker")
        self.http_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.hub: HubProcess | None = None
        self.devices: DevicePublisher | None = None
        self._requests = 0

    def start(self) -> None:
        self.hall_broker.start()
        self.cloud_broker.start()
        tables = hub_tables(
            self.hall_broker.url,
            self.cloud_broker.url,
            HALL_ID,
            {"store": {"synchronous": "normal"}},
            console_tables(self.http_port, "users"),
        )
        config = write_hall_toml(self.folder / "hall.toml", tables, DEVICES)
        add_user(config, USER, PASSWORD)
        self.hub = HubProcess(config)
        self.hub.start()
        self.wait_http()
        self.devices = DevicePublisher(self.hall_broker.url, client_id="console-devices")

    def wait_http(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.get_json("/api/state")
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise EdgeError(f"the console did not answer on {self.url}: {exc}") from exc
                time.sleep(0.1)

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=5) as res:
            return json.loads(res.read())

    def stop(self) -> None:
        if self.devices is not None:
            self.devices.close()
        if self.hub is not None:
            self.hub.stop()
        self.hall_broker.stop()
        self.cloud_broker.stop()

    def __enter__(self) -> ConsoleHall:
        self.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what the devices do ---------------------------------------------------------
    def publish(self, device: str, event_type: str, data: dict[str, Any]) -> None:
        assert self.devices is not None, "start() the hall first"
        topic = f"hall/devices/{device}/events/{event_type.replace('.', '/')}"
        self.devices.publish(topic, data)

    def request_ticket(self, service: str = "payment") -> str:
        """A customer takes a ticket at the kiosk; the request's id."""
        self._requests += 1
        request_id = f"req-{time.time_ns()}-{self._requests}"
        self.publish(
            "kiosk-1", "queue.ticket.requested", {"request_id": request_id, "service": service}
        )
        return request_id

    def press(self, counter: int, action: str) -> None:
        """A clerk presses `action` (call_next, finish, open, pause, ...) on a counter's caller."""
        self.publish(
            f"caller-{counter}",
            "counter.action",
            {"counter": counter, "action": action, "press_id": f"p-{time.time_ns()}"},
        )

    def rate(self, counter: int, level: int) -> None:
        """The customer presses `level` (1-5) on the counter's rating pad."""
        self.publish(f"pad-{counter}", "rating.submitted", {"level": level, "counter": counter})

    def restart_hub(self) -> None:
        """The hub stopped and started again on the same config, journal and port."""
        assert self.hub is not None, "start() the hall first"
        self.hub.stop()
        self.hub.start()
        self.wait_http()

    def paper(self, level: str) -> None:
        """The invoice printer reports its paper (ok, near_end, end): the default rules raise
        an alert on near_end and end."""
        self.publish("printer-1", "printer.status", {"online": True, "paper": level})

    def set_online(self, device: str, online: bool) -> None:
        """The device's retained state, as its last will would leave it when it drops."""
        assert self.devices is not None, "start() the hall first"
        state = {"state": "online" if online else "offline"}
        self.devices.publish(f"hall/devices/{device}/state", state, retain=True)


def add_user(config: Path, name: str, password: str) -> None:
    """`hall-edge users add NAME` with the password on stdin, as an installer runs it."""
    done = subprocess.run(
        [*HALL_EDGE, "users", "add", name, "-c", str(config), "--password-stdin"],
        input=password + "\n",
        text=True,
        capture_output=True,
        cwd=config.parent,
        env=source_env(),
        check=False,
    )
    if done.returncode != 0:
        raise EdgeError(f"hall-edge users add failed: {done.stderr.strip()}")
