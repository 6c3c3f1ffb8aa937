"""Fault: the hub is SIGKILLed between a key press's commit and its echo; the counter caller
resends the same frame after the restart. It is journaled once and calls no second ticket:
the serial dedupe outlives the hub process (the journal holds the press)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from edge.drivers.framing import Frame
from edge.sim.counter import CMD_KEY, KEY_CODES, BusSim, CallerSim
from edge.sim.device_publisher import DevicePublisher
from edge.sim.framed import echo_of
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from edge.sim.ports import PtyLink
from tests.support.audit import journal_rows
from tests.support.hall import queue_tables, write_config
from tests.support.waits import wait_until

pytestmark = pytest.mark.faults

T = TypeVar("T")

QUEUE = queue_tables({"number": 1, "services": ["payment"], "caller": "caller-1"})


class CallerBus:
    """A counter caller on a pty bus, served by its own event loop on a thread."""

    def __init__(self, link: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def make() -> tuple[PtyLink, BusSim]:
            pty = PtyLink(link)
            bus = BusSim(pty.port)
            CallerSim(bus, 1)  # answers the hub's polls, digits and beeps
            self.loop.create_task(bus.run())
            return pty, bus

        self.pty, self.bus = self.run(make())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def send_until_echoed(self, frame: Frame) -> bool:
        return self.run(self.bus.send_until_acked(frame, echo_of(frame), retry_s=0.4, tries=20))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.pty.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _types(db: Path) -> dict[str, int]:
    return dict(journal_rows(db, "SELECT type, COUNT(*) FROM journal GROUP BY type"))


def test_a_press_resent_after_a_sigkill_calls_no_second_ticket(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    link = tmp_path / "by-id" / "usb-1a86_USB_Serial-if00-port0"
    devices: list[dict[str, Any]] = [
        {
            "id": "caller-1",
            "profile": "counter-caller-485",
            "settings.port": str(link),
            "settings.address": 1,
        },
        {"id": "kiosk-1", "profile": "generic-mqtt"},
    ]
    cfg = write_config(
        tmp_path / "hall.toml", hall_broker.url, cloud_broker.url, devices, tables=QUEUE
    )
    db = tmp_path / "hall.db"
    bus = CallerBus(link)
    hub = HubProcess(cfg)
    hub.start()
    kiosk = DevicePublisher(hall_broker.url, client_id="kiosk-1")
    try:
        for rid in ("r1", "r2"):
            kiosk.publish(
                "hall/devices/kiosk-1/events/queue/ticket/requested",
                {"service": "payment", "request_id": rid},
            )
        wait_until(lambda: _types(db).get("queue.ticket.issued", 0) == 2, 15, "two tickets")
        press = Frame(payload=bytes([7, KEY_CODES["call_next"]]), address=1, command=CMD_KEY)
        assert bus.send_until_echoed(press), "the first press is echoed after its commit"
        wait_until(lambda: _types(db).get("queue.ticket.called", 0) == 1, 15, "A001 called")
        # The power cut right after the commit: the caller never saw (say) the echo, and
        # presses the same frame again once the hub is back, well within its 10 s window.
        hub.kill()
        hub.start()
        assert bus.send_until_echoed(press), "the resend is echoed, as journaled"
        time.sleep(1.5)  # what a second journaling and a second call would take
        types = _types(db)
        assert types.get("counter.action") == 1, types
        assert types.get("queue.ticket.called") == 1, types
        # A new press (the next press number) still calls the next ticket.
        nxt = Frame(payload=bytes([8, KEY_CODES["call_next"]]), address=1, command=CMD_KEY)
        assert bus.send_until_echoed(nxt)
        wait_until(lambda: _types(db).get("queue.ticket.called", 0) == 2, 15, "A002 called")
        assert _types(db).get("counter.action") == 2
    finally:
        kiosk.close()
        hub.stop()
        bus.close()
