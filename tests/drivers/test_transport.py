"""Transports: a port held by another process is a clear error, not a crash; loopback pairs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
import pytest

from edge.config.hub import DeviceSection
from edge.drivers.hotplug import PortWatcher
from edge.drivers.profile_schema import SerialLink
from edge.drivers.profiles import ProfileSet
from edge.drivers.registry import DriverEnv, build_driver
from edge.drivers.transport import loopback_pair, open_serial
from edge.errors import LinkError
from edge.sim.ports import PtyLink
from tests.drivers.recording import RecordingPort, eventually, run_async

HOLD = (
    "import serial, sys, time; s = serial.Serial(sys.argv[1], exclusive=True); "
    "print('held', flush=True); time.sleep(60)"
)


@contextmanager
def held_by_another_process(path: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, path], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()


@run_async
async def test_a_busy_port_names_the_process_holding_it() -> None:
    link = PtyLink()
    try:
        with held_by_another_process(link.path) as proc:
            with pytest.raises(LinkError) as e:
                await open_serial(link.path, SerialLink())
            assert f"serial port {link.path} is in use by pid {proc.pid} python" in str(e.value)
    finally:
        link.unplug()


@run_async
async def test_a_missing_port_is_a_link_error() -> None:
    with pytest.raises(LinkError, match="is not there"):
        await open_serial("/dev/ttyNOPE0", SerialLink())


@run_async
async def test_the_driver_reports_a_busy_port_once_and_recovers(profiles: ProfileSet) -> None:
    link = PtyLink()
    port = RecordingPort()
    device = DeviceSection(id="disp-1", profile="call-display-485", settings={"port": link.path})
    profile = profiles["call-display-485"]
    fast = profile.serial
    assert fast is not None
    profile = msgspec.structs.replace(
        profile, transport=msgspec.structs.replace(fast, retry_s=0.05)
    )
    watcher = PortWatcher(use_udev=False, poll_s=0.05)
    driver = build_driver(device, profile, port, env=DriverEnv(watcher=watcher))
    assert driver is not None
    try:
        with held_by_another_process(link.path):
            running = asyncio.create_task(driver.run())
            await eventually(lambda: port.is_online("disp-1") is False)
            await asyncio.sleep(0.3)  # several retries
            assert not running.done()
            assert len(port.errors) == 1 and "is in use by pid" in port.errors[0][1]
            assert "in use" in port.online[-1][2]
        await eventually(lambda: port.is_online("disp-1") is True, what="online once released")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await watcher.close()
        link.unplug()


@run_async
async def test_loopback_pair_carries_bytes_and_loss() -> None:
    hub, device = loopback_pair()
    hub.write(b"ping")
    assert await device.read() == b"ping"
    device.close()
    with pytest.raises(LinkError):
        await hub.read()
    with pytest.raises(LinkError):
        hub.write(b"x")
    assert hub.written == [b"ping"]
