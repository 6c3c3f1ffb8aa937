"""The RS-485 bus: callers and rating pads on one pty, one reader dispatching by address."""

from __future__ import annotations

import asyncio

import pytest

from edge.config.hub import DeviceSection
from edge.drivers.framing import Frame, make_framer
from edge.drivers.hotplug import PortWatcher
from edge.drivers.port import Driver
from edge.drivers.profiles import ProfileSet
from edge.drivers.registry import DriverEnv, build_drivers
from edge.errors import ConfigError
from edge.model import Command
from edge.sim.counter import BusSim, CallerSim, RatingPadSim
from edge.sim.ports import PtyLink
from tests.drivers.recording import RecordingPort, eventually, run_async


def bus_devices(path: str) -> list[DeviceSection]:
    return [
        DeviceSection(
            id="caller-3",
            profile="counter-caller-485",
            settings={"port": path, "address": 3, "counter": 3},
        ),
        DeviceSection(
            id="pad-3",
            profile="rating-pad-485",
            settings={"port": path, "address": 23, "counter": 3},
        ),
    ]


async def start(drivers: dict[str, Driver]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(d.run()) for d in drivers.values()]


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@run_async
async def test_caller_and_pad_share_one_port(profiles: ProfileSet) -> None:
    link = PtyLink()
    bus = BusSim(link.port)
    caller, pad = CallerSim(bus, 3), RatingPadSim(bus, 23)
    sim = asyncio.create_task(bus.run())
    port = RecordingPort()
    drivers = build_drivers(
        bus_devices(link.path), profiles, port, env=DriverEnv(watcher=PortWatcher(use_udev=False))
    )
    tasks = await start(drivers)
    try:
        await eventually(lambda: port.is_online("caller-3") and port.is_online("pad-3"))
        assert await caller.press("call_next")
        assert await caller.press("transfer", 5)
        reply = await drivers["caller-3"].execute(
            Command("caller-3", "caller.show_digits", {"text": "A012"}, cmd_id="c1")
        )
        assert reply.code == 200 and caller.state.display == "A012"
        start_cmd = Command(
            "pad-3",
            "rating.start",
            {"rating_id": "R-77", "ticket_no": "A012", "staff_id": "S9"},
            cmd_id="c2",
        )
        assert (await drivers["pad-3"].execute(start_cmd)).code == 200
        assert pad.lit and pad.tickets == ["A012"]
        assert await pad.rate(2)
        await eventually(lambda: len(port.events) == 3)
        actions = [
            (e.device_id, e.data["action"], e.data["to_counter"])
            for e in port.of_type("counter.action")
        ]
        assert actions == [("caller-3", "call_next", None), ("caller-3", "transfer", 5)]
        (rating,) = port.of_type("rating.submitted")
        assert rating.device_id == "pad-3"
        assert rating.data == {
            "counter": 3,
            "level": 2,
            "rating_id": "R-77",
            "staff_id": "S9",
            "ticket_no": "A012",
        }
        # The start's arguments are used once: a second rating is not credited to R-77.
        assert await pad.rate(5)
        await eventually(lambda: len(port.of_type("rating.submitted")) == 2)
        assert port.of_type("rating.submitted")[1].data["rating_id"] is None
        # A frame for an address nobody configured is a dead letter of the bus.
        link.port.write(make_framer("dlt645").encode(Frame(b"\x01\x0c", 9, 0x01)))
        await eventually(lambda: port.dead)
        assert port.dead[0][0] == f"bus:{link.path}" and port.dead[0][3] == "unknown_address"
    finally:
        await stop(tasks)
        sim.cancel()
        link.unplug()


def test_devices_on_one_port_must_agree(profiles: ProfileSet) -> None:
    env = DriverEnv(watcher=PortWatcher(use_udev=False))
    port = RecordingPort()
    clash = [
        DeviceSection(
            id="caller-1",
            profile="counter-caller-485",
            settings={"port": "/dev/ttyX", "address": 1},
        ),
        DeviceSection(
            id="pad-1", profile="rating-pad-485", settings={"port": "/dev/ttyX", "address": 1}
        ),
    ]
    with pytest.raises(ConfigError) as e:
        build_drivers(clash, profiles, port, env=env)
    assert e.value.key == "devices[1] (pad-1).settings.address" and "caller-1" in e.value.expected
    not_a_bus = [
        DeviceSection(
            id="caller-1",
            profile="counter-caller-485",
            settings={"port": "/dev/ttyY", "address": 1},
        ),
        DeviceSection(
            id="printer", profile="invoice-printer-escpos", settings={"port": "/dev/ttyY"}
        ),
    ]
    with pytest.raises(ConfigError, match="a port of its own"):
        build_drivers(not_a_bus, profiles, port, env=env)
    other_speed = [
        DeviceSection(
            id="caller-1",
            profile="counter-caller-485",
            settings={"port": "/dev/ttyZ", "address": 1},
        ),
        DeviceSection(
            id="caller-2",
            profile="counter-caller-485",
            settings={"port": "/dev/ttyZ", "address": 2, "baudrate": 19200},
        ),
    ]
    with pytest.raises(ConfigError, match="same line settings"):
        build_drivers(other_speed, profiles, port, env=env)


def test_mqtt_devices_get_no_driver(profiles: ProfileSet) -> None:
    devices = [
        DeviceSection(id="robot-1", profile="guide-robot-mqtt", settings={"serial": "GB2-1"}),
        DeviceSection(
            id="printer-1", profile="invoice-printer-escpos", settings={"port": "/dev/ttyP"}
        ),
    ]
    drivers = build_drivers(
        devices, profiles, RecordingPort(), env=DriverEnv(watcher=PortWatcher(use_udev=False))
    )
    assert list(drivers) == ["printer-1"]
    with pytest.raises(ConfigError) as e:
        build_drivers([DeviceSection(id="x", profile="nope")], profiles, RecordingPort())
    assert e.value.key == "devices[0] (x).profile"
