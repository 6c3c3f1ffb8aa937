"""`hall-edge simulate KIND` runners: a simulator on its own line, acting by itself."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from edge.config.hub import DeviceSection
from edge.drivers.hotplug import PortWatcher
from edge.drivers.profiles import load_profiles
from edge.drivers.registry import DriverEnv, build_drivers
from edge.model import Command
from edge.sim import solo
from tests.drivers.recording import RecordingPort, eventually, run_async


@run_async
async def test_counter_bus_and_ticket_machine_runners_talk_to_the_drivers(tmp_path: Path) -> None:
    bus_path, ticket_path = str(tmp_path / "ttyBus"), str(tmp_path / "ttyTicket")
    said: list[str] = []
    stop = asyncio.Event()
    runners = [
        asyncio.create_task(
            solo.run_counter_bus(
                bus_path, callers=[1], pads=[21], every_s=0.05, stop=stop, say=said.append
            )
        ),
        asyncio.create_task(solo.run_ticket_machine(ticket_path, 0.05, stop, said.append)),
    ]
    await eventually(lambda: os.path.exists(bus_path) and os.path.exists(ticket_path))
    devices = [
        DeviceSection(
            id="caller-1", profile="counter-caller-485", settings={"port": bus_path, "address": 1}
        ),
        DeviceSection(
            id="pad-1", profile="rating-pad-485", settings={"port": bus_path, "address": 21}
        ),
        DeviceSection(
            id="ticket-1", profile="ticket-machine-serial", settings={"port": ticket_path}
        ),
    ]
    port = RecordingPort()
    drivers = build_drivers(
        devices, load_profiles(), port, env=DriverEnv(watcher=PortWatcher(use_udev=False))
    )
    running = [asyncio.create_task(d.run()) for d in drivers.values()]
    try:
        await eventually(
            lambda: port.of_type("counter.action") and port.of_type("queue.ticket.requested")
        )
        await drivers["pad-1"].execute(
            Command("pad-1", "rating.start", {"rating_id": "R1"}, cmd_id="s")
        )
        await eventually(
            lambda: port.of_type("rating.submitted"), wait_s=5, what="the pad's customer rates"
        )
        assert port.of_type("rating.submitted")[0].data["rating_id"] == "R1"
        assert any("acknowledged" in s for s in said) and any(
            s.startswith("device end ready") for s in said
        )
    finally:
        stop.set()
        await asyncio.gather(*runners)
        for t in running:
            t.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    # The runner unplugged its pty and removed the link.
    assert not await asyncio.to_thread(os.path.exists, bus_path)
