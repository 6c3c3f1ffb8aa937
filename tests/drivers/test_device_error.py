"""`device.error` from the built-in parts: a serial line's framing errors above a rate, a
printer's fault as it appears, the guide robot's error report."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from edge.config.hub import DeviceSection
from edge.drivers.framing import Frame, make_framer
from edge.drivers.hotplug import PortWatcher
from edge.drivers.profiles import ProfileSet
from edge.drivers.registry import DriverEnv, build_codec, build_driver
from edge.drivers.serial_device import FRAMING_ERRORS
from edge.sim.ports import PtyLink
from tests.drivers.recording import RecordingPort, eventually, run_async
from tests.drivers.test_printer import printer_rig


def _bad_checksum(framer_frame: bytes) -> bytes:
    raw = bytearray(framer_frame)
    raw[-2] ^= 0xFF  # the CS byte before the 0x16 end mark
    return bytes(raw)


@run_async
async def test_framing_errors_above_the_rate_are_one_device_error(profiles: ProfileSet) -> None:
    link = PtyLink()
    port = RecordingPort()
    device = DeviceSection(
        id="caller-1",
        profile="counter-caller-485",
        settings={"port": link.path, "address": 1, "counter": 1},
    )
    driver = build_driver(
        device,
        profiles["counter-caller-485"],
        port,
        env=DriverEnv(watcher=PortWatcher(use_udev=False)),
    )
    assert driver is not None
    running = asyncio.create_task(driver.run())
    framer = make_framer("dlt645")
    bad = _bad_checksum(framer.encode(Frame(payload=bytes([1, 0x0C]), address=1, command=1)))
    try:
        await eventually(lambda: port.is_online("caller-1"))
        for _ in range(FRAMING_ERRORS - 1):
            link.port.write(bad)
        await eventually(lambda: len(port.dead) == FRAMING_ERRORS - 1)
        assert not port.of_type("device.error"), "a few torn frames are line noise"
        for _ in range(FRAMING_ERRORS * 2):  # over the rate, and going on
            link.port.write(bad)
        await eventually(lambda: len(port.dead) == FRAMING_ERRORS * 3 - 1)
        (err,) = port.of_type("device.error")  # once per minute at most
        assert err.device_id == "caller-1"
        assert err.data["reason"] == f"{FRAMING_ERRORS} framing errors in 60 s on {link.path}"
        assert err.data["last"] == port.dead[-1][3]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        link.unplug()


@run_async
async def test_a_printer_fault_is_a_device_error_once_as_it_appears(profiles: ProfileSet) -> None:
    async with printer_rig(profiles) as (_, sim, port):
        await eventually(lambda: port.of_type("printer.status"))
        sim.paper.left = 3  # near end: a warning in printer.status, not a fault
        await eventually(lambda: len(port.of_type("printer.status")) == 2)
        assert not port.of_type("device.error")
        sim.cover_open = True
        await eventually(lambda: port.of_type("device.error"))
        polled = sim.status_requests
        await eventually(lambda: sim.status_requests >= polled + 12, what="three more polls")
        (err,) = port.of_type("device.error")
        assert err.device_id == "printer-1" and "cover open" in err.data["reason"]
        sim.cover_open = False
        await eventually(lambda: not port.of_type("printer.status")[-1].data["cover_open"])
        sim.cover_open = True  # opened again: a new fault
        await eventually(lambda: len(port.of_type("device.error")) == 2)


def test_the_robots_failed_task_is_a_device_error(profiles: ProfileSet) -> None:
    c = build_codec(
        DeviceSection(id="robot-1", profile="guide-robot-mqtt", settings={"serial": "GB7"}),
        profiles["guide-robot-mqtt"],
    )
    assert c is not None
    task = {"msgId": "m9", "ts": 1, "taskId": "t3", "type": "nav", "state": "failed", "errCode": 41}
    events = c.decode("guidebot/GB7/report/task", msgspec.json.encode(task))
    assert [e.type for e in events] == ["robot.task", "device.error"]
    err = events[1]
    assert err.device_id == "robot-1"
    assert err.data == {
        "reason": "robot task failed",
        "task": "navigate_to",
        "task_id": "t3",
        "error": 41,
    }
    done = {**task, "state": "done", "errCode": 0}
    (only,) = c.decode("guidebot/GB7/report/task", msgspec.json.encode(done))
    assert only.type == "robot.task"


@pytest.mark.parametrize("profile", ["guide-robot-mqtt"])
def test_subscriptions_stay_unique(profiles: ProfileSet, profile: str) -> None:
    c = build_codec(
        DeviceSection(id="r", profile=profile, settings={"serial": "S"}), profiles[profile]
    )
    assert c is not None
    subs = c.subscriptions()
    assert len(subs) == len(set(subs)), subs
