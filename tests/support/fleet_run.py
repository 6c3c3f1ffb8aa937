"""The fleet scenario shared by tests/cloud/test_fleet.py and bench/fleet.py: simulated
halls and real hubs through a broker (the devcluster, or one Mosquitto as baseline) into
`hall-cloud consume` processes and PostgreSQL, with faults on a timeline, then the checks.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import asyncpg

from edge.sim.mosquitto import Mosquitto
from tests.cloud.consumer import ConsumerProcess
from tests.support.cutproxy import CutProxy
from tests.support.fleet_sim import Fleet
from tests.support.hall import DevicePublisher, HubProcess, write_config


def hub_config(path: Path, hall_id: str, hall_url: str, cloud_url: str) -> Path:
    """A real hub's config: MQTT 3.1.1 to the cloud (RabbitMQ 3.10), short backoffs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cloud = {"protocol": "3.1.1", "puback_timeout_s": 5.0}
    return write_config(path, hall_url, cloud_url, hall_id=hall_id, tables={"cloud": cloud})


@dataclass
class RealHall:
    """A hall-edge hub with its own hall Mosquitto and a device publishing ratings."""

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
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def journal_ids(self) -> set[str]:
        with sqlite3.connect(self.dir / "hall.db") as db:
            return {r[0] for r in db.execute("SELECT id FROM journal")}

    def outbox_left(self) -> int:
        with sqlite3.connect(self.dir / "hall.db") as db:
            return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def stop(self) -> None:
        self.pause()
        self.hub.stop()
        self.proxy.close()
        self.hall_broker.stop()


async def pg_fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def send_command(
    mqtt_port: int, dsn: str, hall_id: str, device: str, name: str, deadline_s: float
) -> float | None:
    """Publish a command, resend it with the same cmd_id every 2 s until its reply is in
    PostgreSQL (the consumer stores replies) or the deadline; seconds to the reply."""
    cmd_id = f"fleet-{secrets.token_hex(4)}"
    body = json.dumps({"cmd_id": cmd_id, "args": {}}).encode()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    next_send = t0
    while loop.time() - t0 < deadline_s:
        if loop.time() >= next_send:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    mqtt_port,
                    identifier=f"cloud-cmd-{cmd_id}",
                    protocol=aiomqtt.ProtocolVersion.V311,
                    timeout=5,
                ) as c:
                    await c.publish(f"halls/{hall_id}/commands/{device}/{name}", body, qos=1)
            except aiomqtt.MqttError:
                pass
            next_send = loop.time() + 2.0
        rows = await pg_fetch(dsn, "SELECT 1 FROM replies WHERE cmd_id = $1", cmd_id)
        if rows:
            return loop.time() - t0
        await asyncio.sleep(0.2)
    return None


@dataclass
class Outcome:
    expected: int
    stored: int
    missing: list[tuple[str, str]]
    duplicates: int
    open_gaps: int
    commands: list[float | None]
    seconds: float
    figures: dict[str, float] = field(default_factory=dict)


def check(dsn: str, expected: set[tuple[str, str]]) -> tuple[int, list[tuple[str, str]], int, int]:
    """Rows stored, expected keys missing, keys stored more than once, open gaps."""

    async def run() -> tuple[int, list[tuple[str, str]], int, int]:
        rows = await pg_fetch(dsn, "SELECT hallid, id, count(*) AS n FROM events GROUP BY 1, 2")
        have = {(r["hallid"], r["id"]): int(r["n"]) for r in rows}
        missing = sorted(expected - set(have))
        dup = sum(1 for n in have.values() if n > 1)
        gaps = await pg_fetch(dsn, "SELECT count(*) AS n FROM gaps WHERE closed_at IS NULL")
        return sum(have.values()), missing, dup, int(gaps[0]["n"])

    return asyncio.run(run())


def consumers(
    workdir: Path, urls: list[str], dsn: str, n: int, group: str, *extra: str
) -> list[ConsumerProcess]:
    """N consumer processes; consumer i tries url i first (a comma list rotated)."""
    out = []
    for i in range(n):
        rotated = urls[i % len(urls) :] + urls[: i % len(urls)]
        out.append(
            ConsumerProcess(
                workdir,
                ",".join(rotated) if rotated[0].startswith("amqp") else rotated[0],
                dsn,
                f"{group}-c{i}",
                "--shared-group",
                group,
                *extra,
            )
        )
    return out


async def run_fleet(fleet: Fleet, body: Callable[[], Any]) -> None:
    """Start the fleet, run BODY (a coroutine function) beside it, then close it."""
    fleet.start()
    try:
        await body()
    finally:
        await fleet.close()
