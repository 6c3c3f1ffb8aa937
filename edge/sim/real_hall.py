"""A real hall among the simulated fleet: a hall-edge hub with its own hall Mosquitto and
a device publishing ratings, its cloud link through a CutProxy the run can cut.

Used by the fleet run (bench/fleet.py) and its short version in the suite.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from edge.sim.cutproxy import CutProxy
from edge.sim.device_publisher import DevicePublisher
from edge.sim.hall_config import hub_tables, write_hall_toml
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto


def hub_config(path: Path, hall_id: str, hall_url: str, cloud_url: str) -> Path:
    """The hub's config: one generic MQTT pad, MQTT 3.1.1 to the cloud (RabbitMQ 3.10
    speaks no MQTT 5), a PUBACK timeout short against the run's faults, and a journal
    without an fsync per batch (many hubs share this machine's disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tables = hub_tables(
        hall_url,
        cloud_url,
        hall_id,
        {"store": {"synchronous": "normal"}},
        {"cloud": {"protocol": "3.1.1", "puback_timeout_s": 5.0}},
    )
    return write_hall_toml(path, tables, [{"id": "pad-1", "profile": "generic-mqtt"}])


@dataclass
class RealHall:
    """HALL_ID's hub in DIR, its cloud link to 127.0.0.1:CLOUD_PORT; the pad publishes
    RATE ratings a second from `start` until `pause`."""

    hall_id: str
    dir: Path
    cloud_port: int
    rate: float
    hall_broker: Mosquitto = field(init=False)
    proxy: CutProxy = field(init=False)
    hub: HubProcess = field(init=False)
    sent: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.hall_broker = Mosquitto(self.dir / "hall-broker")
        self.hall_broker.start()
        self.proxy = CutProxy(self.cloud_port)
        cfg = hub_config(self.dir / "hall.toml", self.hall_id, self.hall_broker.url, self.proxy.url)
        self.hub = HubProcess(cfg)
        self.hub.start()
        self._thread = threading.Thread(target=self._devices, daemon=True)
        self._thread.start()

    def _devices(self) -> None:
        pad = DevicePublisher(self.hall_broker.url, client_id=f"pad-{self.hall_id}")
        try:
            next_at = time.monotonic()
            while not self._stop.is_set():
                self.sent += 1
                pad.publish(
                    "hall/devices/pad-1/events/rating/submitted",
                    {"id": f"r-{self.sent}", "level": 1 + self.sent % 5, "counter": 3},
                )
                next_at += 1 / self.rate
                time.sleep(max(0.0, next_at - time.monotonic()))
        finally:
            pad.close()

    def pause(self) -> None:
        """No more ratings; the hub goes on delivering what it journaled."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def journal_ids(self) -> set[str]:
        """Every event id the hub journaled: what the cloud must hold once each."""
        with sqlite3.connect(self.dir / "hall.db") as db:
            return {r[0] for r in db.execute("SELECT id FROM journal")}

    def outbox_left(self) -> int:
        """Events still waiting for the cloud's PUBACK."""
        with sqlite3.connect(self.dir / "hall.db") as db:
            return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def stop(self) -> None:
        self.pause()
        self.hub.stop()
        self.proxy.close()
        self.hall_broker.stop()
