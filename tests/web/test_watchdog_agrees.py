"""systemd's watchdog and /healthz give one answer: when the journal task dies, the hub
stops feeding the watchdog and /healthz turns 503 with the reason, at the same time."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from edge.config import load
from edge.hub.build import build_hub
from edge.sim.mosquitto import Mosquitto, free_port
from tests.support.hall import write_config
from tests.web.site import Site


def test_watchdog_stops_when_healthz_fails(
    tmp_path: Path,
    hall_broker: Mosquitto,
    cloud_broker: Mosquitto,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    site = Site(port)
    cfg = write_config(
        tmp_path / "hall.toml",
        hall_broker.url,
        cloud_broker.url,
        tables={"http": {"listen": f"127.0.0.1:{port}"}},
    )
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # a ping every 0.5 s

    def pings() -> list[bytes]:
        out = []
        while True:
            try:
                out.append(notify.recv(256))
            except BlockingIOError:
                return [m for m in out if m == b"WATCHDOG=1"]

    async def scenario() -> None:
        hub = await build_hub(load(cfg))
        task = asyncio.create_task(hub.run())
        try:
            await asyncio.wait_for(hub.hall.connected.wait(), 15)
            await asyncio.sleep(1.2)
            assert len(pings()) >= 2, "fed while alive"
            assert (await asyncio.to_thread(site.json, "GET", "/healthz"))[0] == 200
            journal = hub.task("journal")
            assert journal is not None
            journal.cancel()
            await asyncio.sleep(0.1)
            pings()  # whatever was sent before the task ended
            await asyncio.sleep(1.5)
            assert pings() == [], "no watchdog ping once the journal task is gone"
            status, body = await asyncio.to_thread(site.json, "GET", "/healthz")
            assert status == 503 and "journal task is not running" in str(body["reason"])
            status, body = await asyncio.to_thread(site.json, "GET", "/readyz")
            assert status == 503
        finally:
            hub.stop()
            await asyncio.wait_for(task, 20)

    try:
        asyncio.run(scenario())
    finally:
        notify.close()
