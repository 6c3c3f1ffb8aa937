"""Hot-plug: matching fed udev properties, sysfs listing, and the no-udevd fallback on ptys."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from edge.config.hub import DeviceSection
from edge.drivers import hotplug
from edge.drivers.hotplug import (
    PortInfo,
    PortWatcher,
    list_ports_sysfs,
    port_from_udev,
    port_matches,
)
from edge.drivers.profile_schema import MatchSpec, UsbIds
from edge.drivers.profiles import ProfileSet
from edge.drivers.registry import DriverEnv, build_driver
from edge.sim.counter import BusSim, CallerSim
from edge.sim.ports import PtyLink
from tests.drivers.recording import RecordingPort, cancelled, eventually, run_async

CH340 = {
    "DEVNAME": "/dev/ttyUSB1",
    "SUBSYSTEM": "tty",
    "ID_VENDOR_ID": "1A86",
    "ID_MODEL_ID": "7523",
    "ID_SERIAL_SHORT": "5A7B0012",
    "ID_VENDOR": "1a86",
    "ID_MODEL": "USB_Serial",
    "DEVLINKS": "/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0 "
    "/dev/serial/by-id/usb-1a86_USB_Serial_5A7B0012-if00-port0",
}
RULES = MatchSpec(usb=[UsbIds(vendor_id="1a86", product_id="7523")], by_id=["usb-1a86_USB*"])


def test_port_from_udev_properties() -> None:
    p = port_from_udev(CH340)
    assert p.device == "/dev/ttyUSB1"
    assert p.links == ("/dev/serial/by-id/usb-1a86_USB_Serial_5A7B0012-if00-port0",)
    assert (p.vendor_id, p.product_id, p.serial) == ("1a86", "7523", "5A7B0012")
    assert p.description == "1a86 USB Serial"


def test_matching_by_usb_ids_by_id_pattern_and_serial_number() -> None:
    p = port_from_udev(CH340)
    assert port_matches(p, RULES, {})
    assert port_matches(p, RULES, {"serial_number": "5A7B0012"})
    assert not port_matches(p, RULES, {"serial_number": "OTHER"})
    ftdi = port_from_udev({**CH340, "ID_VENDOR_ID": "0403", "ID_MODEL_ID": "6001"})
    assert not port_matches(ftdi, RULES, {})
    no_link = port_from_udev({**CH340, "DEVLINKS": ""})
    assert not port_matches(no_link, RULES, {})  # the by-id pattern is a rule too
    assert not port_matches(p, None, {}) and not port_matches(p, MatchSpec(), {})


def test_an_explicit_port_setting_decides_alone() -> None:
    p = port_from_udev(CH340)
    assert port_matches(p, None, {"port": "/dev/ttyUSB1"})
    assert port_matches(p, None, {"port": "/dev/serial/by-id/usb-1a86_*"})
    assert not port_matches(p, RULES, {"port": "/dev/ttyUSB0"})
    # Without udev data the serial number is still found in the by-id name.
    bare = PortInfo("/dev/pts/4", ("/x/by-id/usb-Acme_QK9_A1B2C3-if00-port0",))
    assert port_matches(bare, None, {"port": "/dev/pts/*", "serial_number": "A1B2C3"})
    assert not port_matches(bare, None, {"port": "/dev/pts/*", "serial_number": "ZZZ"})


def test_sysfs_listing_reads_usb_ids_and_skips_placeholder_uarts(tmp_path: Path) -> None:
    usb = tmp_path / "devices" / "usb1" / "1-2"
    iface = usb / "1-2:1.0" / "ttyUSB0"
    iface.mkdir(parents=True)
    for name, value in {
        "idVendor": "0403",
        "idProduct": "6001",
        "serial": "FT12AB",
        "manufacturer": "FTDI",
        "product": "FT232R USB UART",
    }.items():
        (usb / name).write_text(value + "\n")
    tty = tmp_path / "class" / "tty"
    (tty / "ttyUSB0").mkdir(parents=True)
    (tty / "ttyUSB0" / "device").symlink_to(iface)
    for name, kind in (("ttyS0", "4"), ("ttyS1", "0")):
        (tty / name).mkdir()
        (tty / name / "type").write_text(kind)
        (tty / name / "device").mkdir()
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    ports = list_ports_sysfs(str(by_id), str(tty))
    assert [p.device for p in ports] == ["/dev/ttyS0", "/dev/ttyUSB0"]
    usb0 = ports[1]
    assert (usb0.vendor_id, usb0.product_id, usb0.serial) == ("0403", "6001", "FT12AB")
    assert usb0.description == "FTDI FT232R USB UART"


@run_async
async def test_fallback_says_so_once_and_sees_links_come_and_go(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hotplug, "_fallback_said", False)
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    watchers = [
        PortWatcher(by_id_dir=str(by_id), sys_tty=str(tmp_path), poll_s=0.02, use_udev=False)
        for _ in range(2)
    ]
    with caplog.at_level(logging.WARNING, logger="edge.drivers.hotplug"):
        waiting = asyncio.create_task(watchers[0].wait_change(5))
        await watchers[1].wait_change(0.05)
        await asyncio.sleep(0.05)
        link = PtyLink(by_id / "usb-Test_Dev_1-if00-port0")
        await asyncio.wait_for(waiting, 2)  # woken by the new link, not by the time-out
        assert [p.device for p in watchers[0].ports()] == [link.path]
        link.unplug()
    said = [r for r in caplog.records if "no udevd" in r.getMessage()]
    assert len(said) == 1 and "polling" in said[0].getMessage()
    for w in watchers:
        await w.close()


@run_async
async def test_unplug_and_replug_under_another_tty_number(
    profiles: ProfileSet, tmp_path: Path
) -> None:
    by_id = tmp_path / "by-id"
    name = "usb-1a86_USB_Serial_5A7B0012-if00-port0"
    link = PtyLink(by_id / name)
    bus = BusSim(link.port)
    caller = CallerSim(bus, 1)
    serving = asyncio.create_task(bus.run())
    port = RecordingPort()
    watcher = PortWatcher(by_id_dir=str(by_id), sys_tty=str(tmp_path), poll_s=0.02, use_udev=False)
    settings = {"port": str(by_id / name), "address": 1}
    device = DeviceSection(id="caller-1", profile="counter-caller-485", settings=settings)
    driver = build_driver(
        device, profiles["counter-caller-485"], port, env=DriverEnv(watcher=watcher)
    )
    assert driver is not None
    running = asyncio.create_task(driver.run())
    spacers: list[PtyLink] = []
    try:
        await eventually(lambda: port.is_online("caller-1") is True)
        assert await caller.press("call_next")
        old = link.path
        serving.cancel()
        link.unplug()
        await eventually(lambda: port.is_online("caller-1") is False)
        await asyncio.sleep(0.1)  # it keeps running without its port
        assert not running.done()
        # Hold the old tty number, so the device comes back under another: Linux gives the
        # lowest free pty, and on a busy machine (other tests, other workers) a lower one
        # may have been freed meanwhile, which one spacer alone would take instead.
        while len(spacers) < 64 and old not in {s.path for s in spacers}:
            spacers.append(PtyLink())
        link = PtyLink(by_id / name)
        assert link.path != old
        bus = BusSim(link.port)
        caller = CallerSim(bus, 1)
        serving = asyncio.create_task(bus.run())
        await eventually(
            lambda: port.is_online("caller-1") is True, what="back online on the new tty"
        )
        assert await caller.press("finish")
        assert [e.data["action"] for e in port.events] == ["call_next", "finish"]
        assert port.errors == []  # an unplug is not an error
    finally:
        await cancelled(running, serving)
        await watcher.close()
        link.unplug()
        for s in spacers:
            s.unplug()
