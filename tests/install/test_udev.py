"""udev rules from the config, and the hub opening a /dev/hall/{id} link as a device's port."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from edge.config import load
from edge.config.hub import DeviceSection
from edge.drivers.hotplug import PortWatcher
from edge.drivers.profiles import load_profiles
from edge.drivers.registry import DriverEnv, build_driver
from edge.errors import ConfigError
from edge.install.udev import udev_rules
from edge.sim.counter import BusSim, CallerSim
from edge.sim.ports import PtyLink
from tests.drivers.recording import RecordingPort, cancelled, eventually, run_async
from tests.install.conftest import staged_config

SERIAL_DEVICES: list[dict[str, Any]] = [
    # Two callers on one RS-485 line (a CH340 adapter, told apart by its serial number).
    {
        "id": "caller-1",
        "profile": "counter-caller-485",
        "settings": {"address": 1, "serial_number": "5A7B0012"},
    },
    {
        "id": "caller-2",
        "profile": "counter-caller-485",
        "settings": {"address": 2, "serial_number": "5A7B0012"},
    },
    # A printer on an adapter the profile does not know: its own ids.
    {
        "id": "printer-1",
        "profile": "invoice-printer-escpos",
        "settings": {"usb_vendor": "067B", "usb_product": "2303"},
    },
    {"id": "pad-1", "profile": "generic-mqtt"},
]


def test_rules_link_each_serial_device_by_usb_ids_and_serial(tmp_path: Path) -> None:
    cfg = load(
        staged_config(
            tmp_path / "hall.toml", "mqtt://127.0.0.1:1", "mqtt://127.0.0.1:2", SERIAL_DEVICES
        )
    )
    rules = udev_rules(cfg)
    assert rules.devices == ["caller-1", "caller-2", "printer-1"]
    lines = [ln for ln in rules.text.splitlines() if ln and not ln.startswith("#")]
    # The caller profile names two adapters (CH340, FTDI): one rule each.
    assert (
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="1a86", ATTRS{idProduct}=="7523", '
        'ATTRS{serial}=="5A7B0012", SYMLINK+="hall/caller-1", GROUP="dialout", MODE="0660"'
    ) in lines
    assert sum('SYMLINK+="hall/caller-2"' in ln for ln in lines) == 2
    printer = [ln for ln in lines if "hall/printer-1" in ln]
    assert printer == [
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="067b", ATTRS{idProduct}=="2303", '
        'SYMLINK+="hall/printer-1", GROUP="dialout", MODE="0660"'
    ]
    assert not any("pad-1" in ln for ln in lines)
    assert rules.notes == []


def test_twins_without_serial_number_are_flagged(tmp_path: Path) -> None:
    twins = [
        {
            "id": f"t-{i}",
            "profile": "ticket-machine-serial",
            "settings": {"usb_vendor": "0403", "usb_product": "6001"},
        }
        for i in (1, 2)
    ]
    cfg = load(
        staged_config(tmp_path / "hall.toml", "mqtt://127.0.0.1:1", "mqtt://127.0.0.1:2", twins)
    )
    notes = udev_rules(cfg).notes
    assert len(notes) == 1 and notes[0].startswith("t-2: same USB ids as t-1")


@pytest.mark.parametrize(
    ("settings", "key", "expected"),
    [
        ({"usb_vendor": "1a8"}, "usb_vendor", "4 hex digits"),
        ({"usb_vendor": "1a86", "usb_product": "xyz1"}, "usb_product", "4 hex digits"),
        ({"usb_product": "7523"}, "usb_vendor", "the vendor id with usb_product"),
        ({"serial_number": 'A"B'}, "serial_number", "letters, digits"),
    ],
)
def test_bad_usb_settings_name_file_and_key(
    tmp_path: Path, settings: dict[str, str], key: str, expected: str
) -> None:
    dev = [{"id": "t-1", "profile": "ticket-machine-serial", "settings": settings}]
    cfg = load(
        staged_config(tmp_path / "hall.toml", "mqtt://127.0.0.1:1", "mqtt://127.0.0.1:2", dev)
    )
    with pytest.raises(ConfigError) as err:
        udev_rules(cfg)
    assert f"hall.toml: devices[0].settings.{key}: expected {expected}" in str(err.value)


@pytest.mark.parametrize("with_serial", [False, True])
@run_async
async def test_hub_opens_a_dev_hall_link_and_follows_a_replug(
    tmp_path: Path, with_serial: bool
) -> None:
    """The link stands in for udev's /dev/hall/caller-1 (a pty behind it); the by-id folder
    holds the adapter's by-id link, which carries its serial number."""
    hall_link = tmp_path / "dev" / "hall" / "caller-1"
    by_id = tmp_path / "by-id"
    serial = "5A7B0012"
    profiles = load_profiles()
    link = PtyLink(hall_link)
    by_id.mkdir()
    by_id_link = by_id / f"usb-1a86_USB_Serial_{serial}-if00-port0"
    by_id_link.symlink_to(link.path)
    bus = BusSim(link.port)
    caller = CallerSim(bus, 1)
    serving = asyncio.create_task(bus.run())
    port = RecordingPort()
    watcher = PortWatcher(by_id_dir=str(by_id), sys_tty=str(tmp_path), poll_s=0.02, use_udev=False)
    settings: dict[str, object] = {"port": str(hall_link), "address": 1}
    if with_serial:
        settings["serial_number"] = serial  # goes through the hot-plug match
    device = DeviceSection(id="caller-1", profile="counter-caller-485", settings=settings)
    driver = build_driver(
        device, profiles["counter-caller-485"], port, env=DriverEnv(watcher=watcher)
    )
    assert driver is not None
    running = asyncio.create_task(driver.run())
    try:
        await eventually(lambda: port.is_online("caller-1") is True, what="online via the link")
        assert await caller.press("call_next")
        serving.cancel()
        link.unplug()
        by_id_link.unlink()
        await eventually(lambda: port.is_online("caller-1") is False)
        spacer = PtyLink()  # the replugged adapter gets another tty
        link = PtyLink(hall_link)
        by_id_link.symlink_to(link.path)
        bus = BusSim(link.port)
        caller = CallerSim(bus, 1)
        serving = asyncio.create_task(bus.run())
        await eventually(lambda: port.is_online("caller-1") is True, what="back on the new tty")
        assert await caller.press("finish")
        assert [e.data["action"] for e in port.events] == ["call_next", "finish"]
        spacer.unplug()
    finally:
        await cancelled(running, serving)
        await watcher.close()
        link.unplug()


def test_hot_plug_uses_the_device_usb_ids_over_the_profile() -> None:
    from edge.drivers.hotplug import PortInfo, port_matches  # noqa: PLC0415
    from edge.drivers.profile_schema import MatchSpec, UsbIds  # noqa: PLC0415

    profile_match = MatchSpec(usb=[UsbIds(vendor_id="1a86", product_id="7523")])
    pl2303 = PortInfo("/dev/ttyUSB3", (), "067b", "2303", None)
    assert not port_matches(pl2303, profile_match, {})
    assert port_matches(pl2303, profile_match, {"usb_vendor": "067B", "usb_product": "2303"})
    assert not port_matches(pl2303, profile_match, {"usb_vendor": "067b", "usb_product": "2304"})
