"""Serial simulators against the real drivers on pty pairs: ticket machine, display, Modbus pads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from edge.config.hub import DeviceSection
from edge.drivers.framing import Frame
from edge.drivers.hotplug import PortWatcher
from edge.drivers.port import Driver
from edge.drivers.profiles import ProfileSet, load_profiles
from edge.drivers.registry import DriverEnv, build_driver
from edge.errors import CommandError
from edge.model import Command
from edge.sim.display import DisplaySim
from edge.sim.modbus_pad import ModbusLineSim, ModbusPadSim
from edge.sim.ports import PtyLink
from edge.sim.ticket import TicketMachineSim
from tests.drivers.recording import RecordingPort, cancelled, eventually, run_async


@pytest.fixture(scope="module")
def profiles() -> ProfileSet:
    return load_profiles()


@asynccontextmanager
async def on_pty(
    profiles: ProfileSet, profile: str, sim_type: type[Any], settings: dict[str, Any] | None = None
) -> AsyncIterator[tuple[Driver, Any, RecordingPort, PtyLink]]:
    link = PtyLink()
    sim = sim_type(link.port)
    serving = asyncio.create_task(sim.run())
    port = RecordingPort()
    device = DeviceSection(
        id="dev-1", profile=profile, settings={"port": link.path, **(settings or {})}
    )
    driver = build_driver(
        device, profiles[profile], port, env=DriverEnv(watcher=PortWatcher(use_udev=False))
    )
    assert driver is not None
    running = asyncio.create_task(driver.run())
    try:
        await eventually(lambda: port.is_online("dev-1"))
        yield driver, sim, port, link
    finally:
        await cancelled(running, serving)
        link.unplug()


@run_async
async def test_ticket_machine_request_ack_and_print(profiles: ProfileSet) -> None:
    async with on_pty(profiles, "ticket-machine-serial", TicketMachineSim) as (
        driver,
        sim,
        port,
        _,
    ):
        assert isinstance(sim, TicketMachineSim)
        request_id = await sim.request("capacity_change", "elderly", "1127")
        assert request_id == "K1-1127-0001"
        (event,) = port.events
        assert event.type == "queue.ticket.requested" and event.source_id == f"dev-1:{request_id}"
        assert event.data == {
            "channel": "kiosk",
            "request_id": request_id,
            "service": "capacity_change",
            "priority": "elderly",
        }
        args = {
            "request_id": request_id,
            "ticket_no": "C003",
            "service": "capacity_change",
            "waiting_ahead": 4,
            "priority": "elderly",
        }
        assert (
            await driver.execute(Command("dev-1", "ticket.print", args, cmd_id="t1"))
        ).code == 200
        assert [(t.ticket_no, t.waiting_ahead) for t in sim.printed] == [("C003", 4)]
        sim.fail_next_print = True
        with pytest.raises(CommandError) as e:
            await driver.execute(Command("dev-1", "ticket.print", args, cmd_id="t2"))
        assert e.value.code == 500 and "paper jam" in e.value.msg


@run_async
async def test_display_shows_and_announces_chinese_text(profiles: ProfileSet) -> None:
    async with on_pty(profiles, "call-display-485", DisplaySim) as (driver, sim, _, _link):
        assert isinstance(sim, DisplaySim)
        show = Command(
            "dev-1", "display.show_call", {"ticket_no": "A012", "counter": 3}, cmd_id="d1"
        )
        assert (await driver.execute(show)).code == 200
        assert sim.calls == [("A012", "3", "请A012号到3号窗口")]
        say = Command(
            "dev-1",
            "voice.announce",
            {"text": "请A012号到3号窗口办理业务", "volume": 60},
            cmd_id="v1",
        )
        assert (await driver.execute(say)).code == 200
        assert sim.announcements == ["请A012号到3号窗口办理业务"]
        sim.broken = True
        with pytest.raises(CommandError) as e:
            await driver.execute(show)
        assert e.value.code == 500 and "lamp" in e.value.msg


class _Pads(ModbusLineSim):
    def __init__(self, port: Any) -> None:
        super().__init__(port)
        self.pad = ModbusPadSim(self, 7)


@run_async
async def test_modbus_pad_polled_rating_acknowledged_by_clearing_the_register(
    profiles: ProfileSet,
) -> None:
    async with on_pty(profiles, "rating-pad-modbus", _Pads, {"address": 7, "counter": 5}) as (
        driver,
        sim,
        port,
        _,
    ):
        assert isinstance(sim, _Pads)
        start = Command(
            "dev-1",
            "rating.start",
            {"rating_id": "R-5", "ticket_no": "B009", "timeout_s": 20},
            cmd_id="s1",
        )
        assert (await driver.execute(start)).code == 200
        assert sim.pad.sessions == [20]
        sim.pad.rate(1)
        await asyncio.wait_for(sim.pad.taken.wait(), 3)  # the hub cleared register 0
        await asyncio.sleep(0.6)  # more polls: the cleared register yields nothing more
        (rating,) = port.of_type("rating.submitted")
        assert rating.data == {
            "counter": 5,
            "level": 1,
            "rating_id": "R-5",
            "staff_id": None,
            "ticket_no": "B009",
        }
        sim.pad.rate(1)  # the next customer gives the same level: a new rating (counter moved)
        await eventually(lambda: len(port.of_type("rating.submitted")) == 2)
        assert [d for d in port.dead if not d[3].startswith("no_rule")] == []


def test_ticket_machine_shows_a_refusal() -> None:
    link = PtyLink()
    try:
        sim = TicketMachineSim(link.port)
        out = sim.handle(Frame(payload="NAK,K1-9,closed,暂停取号".encode("gb18030")))
    finally:
        link.unplug()
    assert sim.refused == [("K1-9", "closed")]
    assert [f.payload for f in out if isinstance(f, Frame)] == [b"OK,K1-9"]
