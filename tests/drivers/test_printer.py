"""The ESC/POS invoice printer: DLE EOT status read per docs/devices.md §6, journaled on change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import pytest

from edge.config.hub import DeviceSection
from edge.drivers.hotplug import PortWatcher
from edge.drivers.port import Driver
from edge.drivers.printer import PrinterStatus, decode_status
from edge.drivers.profile_schema import PrinterSpec
from edge.drivers.profiles import ProfileSet
from edge.drivers.registry import DriverEnv, build_driver
from edge.errors import CommandError
from edge.model import Command
from edge.sim.ports import PtyLink
from edge.sim.printer import PaperRoll, PrinterSim
from tests.drivers.recording import RecordingPort, cancelled, eventually, run_async

OK = 0x12  # the fixed bits of every status byte


def test_status_bits_per_design() -> None:
    assert decode_status({1: OK, 2: OK, 3: OK, 4: OK}) == PrinterStatus(
        True, "ok", False, False, False
    )
    assert decode_status({1: OK | 0x08, 2: OK | 0x04, 3: OK, 4: OK}) == PrinterStatus(
        False, "ok", True, False, False
    )
    assert decode_status({1: OK, 2: OK, 3: OK, 4: OK | 0x0C}).paper == "near_end"
    assert decode_status({1: OK, 2: OK, 3: OK, 4: OK | 0x60}).paper == "end"
    assert decode_status({1: OK, 2: OK | 0x20, 3: OK, 4: OK}).paper == "end"
    s = decode_status({1: OK, 2: OK, 3: OK | 0x08 | 0x20, 4: OK})
    assert s.cutter_error and s.unrecoverable and not s.can_print
    assert s.why_not() == "cutter error, unrecoverable error"


@asynccontextmanager
async def printer_rig(
    profiles: ProfileSet, paper: int = 50
) -> AsyncIterator[tuple[Driver, PrinterSim, RecordingPort]]:
    fast = PrinterSpec(poll_interval_s=0.02, reply_timeout_s=0.2, offline_after=2)
    profile = msgspec.structs.replace(profiles["invoice-printer-escpos"], printer=fast)
    link = PtyLink()
    sim = PrinterSim(link.port, PaperRoll(left=paper, near_end_at=5))
    serving = asyncio.create_task(sim.run())
    port = RecordingPort()
    device = DeviceSection(id="printer-1", profile=profile.id, settings={"port": link.path})
    driver = build_driver(device, profile, port, env=DriverEnv(watcher=PortWatcher(use_udev=False)))
    assert driver is not None
    running = asyncio.create_task(driver.run())
    try:
        yield driver, sim, port
    finally:
        await cancelled(running, serving)
        link.unplug()


@run_async
async def test_status_is_journaled_only_when_it_changes(profiles: ProfileSet) -> None:
    async with printer_rig(profiles) as (_, sim, port):
        await eventually(lambda: port.of_type("printer.status"))
        polled = sim.status_requests
        await eventually(lambda: sim.status_requests >= polled + 12, what="three more polls")
        statuses = port.of_type("printer.status")
        assert len(statuses) == 1
        assert statuses[0].data == {
            "online": True,
            "paper": "ok",
            "cover_open": False,
            "cutter_error": False,
            "unrecoverable": False,
        }
        sim.paper.left = 3
        await eventually(lambda: len(port.of_type("printer.status")) == 2)
        assert port.of_type("printer.status")[1].data["paper"] == "near_end"
        sim.cover_open = True
        await eventually(lambda: len(port.of_type("printer.status")) == 3)
        third = port.of_type("printer.status")[2].data
        assert third["cover_open"] is True and third["online"] is False
        polled = sim.status_requests
        await eventually(lambda: sim.status_requests >= polled + 12)
        assert len(port.of_type("printer.status")) == 3


@run_async
async def test_invoice_printed_in_gb18030_and_refused_at_paper_end(profiles: ProfileSet) -> None:
    async with printer_rig(profiles, paper=7) as (driver, sim, port):
        await eventually(lambda: port.is_online("printer-1"))
        args = {"invoice_no": "No.2026112700042", "amount_cents": 23400, "buyer": "李四"}
        reply = await driver.execute(
            Command("printer-1", "printer.print_invoice", args, cmd_id="p1")
        )
        assert reply.code == 200
        await eventually(lambda: sim.jobs)
        job = sim.jobs[0]
        assert "购买方: 李四".encode("gb18030") in job and "￥234.00".encode("gb18030") in job
        (printed,) = port.of_type("invoice.printed")
        assert printed.data == {"invoice_no": "No.2026112700042", "amount_cents": 23400}
        status = await driver.execute(Command("printer-1", "printer.query_status", {}, cmd_id="q"))
        assert status.code == 200 and status.data["paper"] == "ok"
        sim.paper.left = 0
        with pytest.raises(CommandError) as e:
            await driver.execute(Command("printer-1", "printer.print_invoice", args, cmd_id="p2"))
        assert e.value.code == 500 and "paper end" in e.value.msg
        assert len(sim.jobs) == 1 and len(port.of_type("invoice.printed")) == 1


@run_async
async def test_a_silent_printer_goes_offline(profiles: ProfileSet) -> None:
    async with printer_rig(profiles) as (driver, sim, port):
        await eventually(lambda: port.is_online("printer-1") is True)
        sim.silent = True
        await eventually(lambda: port.is_online("printer-1") is False)
        assert "DLE EOT" in port.online[-1][2]
        with pytest.raises(CommandError) as e:
            await driver.execute(
                Command(
                    "printer-1",
                    "printer.print_invoice",
                    {"invoice_no": "1", "amount_cents": 1},
                    cmd_id="x",
                )
            )
        assert e.value.code == 503
