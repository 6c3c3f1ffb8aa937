"""Building the driver (or the MQTT codec) of each configured device from its profile.

The hub calls `build_drivers` once with all its devices (so that the devices on one RS-485
bus share one line), or `build_driver` per device with one shared `DriverEnv`. Devices
with an MQTT profile get no driver: the hub serves them on the hall broker, through
`build_codec` for vendor formats and its own fast path for the generic convention.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from edge.clock import Clock, utcnow
from edge.config.hub import DeviceSection
from edge.drivers.bus import LineBook
from edge.drivers.connect import serial_connector
from edge.drivers.device_settings import device_settings, line_settings
from edge.drivers.endpoint import Endpoint
from edge.drivers.hotplug import PortWatcher
from edge.drivers.mqtt_codec import MqttCodec
from edge.drivers.port import Driver, HubPort
from edge.drivers.printer import PrinterEndpoint
from edge.drivers.profile_schema import MqttLink, Profile
from edge.drivers.profiles import ProfileSet
from edge.drivers.serial_device import SerialDriver, SerialLine
from edge.drivers.transport import Connector

ConnectorFactory = Callable[[str, Profile, Mapping[str, Any]], Connector]


@dataclass
class DriverEnv:
    """What the serial drivers of one hub share: the port watcher and the lines."""

    watcher: PortWatcher = field(default_factory=PortWatcher)
    lines: LineBook = field(default_factory=LineBook)
    clock: Clock = utcnow
    # Tests replace how a line reaches its device (a loopback pair instead of a port).
    connector: ConnectorFactory | None = None


def build_driver(
    device: DeviceSection,
    profile: Profile,
    port: HubPort,
    *,
    env: DriverEnv | None = None,
    file: str = "hall.toml",
    where: str = "devices",
) -> Driver | None:
    """The driver of a serial device; None for an MQTT device (served by the hub itself).

    ConfigError (naming `file` and `where`) for settings the profile does not accept, or
    for devices that cannot share the port they name.
    """
    if isinstance(profile.transport, MqttLink):
        device_settings(device, profile, file, where)
        return None
    env = env or DriverEnv()
    framer = profile.framer
    assert framer is not None  # checked when the profile was loaded
    settings = device_settings(device, profile, file, where)
    link = line_settings(profile, settings)
    kind = PrinterEndpoint if profile.kind == "invoice_printer" else Endpoint
    endpoint = kind(device.id, profile, settings, port, env.clock)
    key = str(settings.get("port") or f"match:{device.id}")
    make_connector = env.connector or (
        lambda dev_id, prof, sets: serial_connector(dev_id, prof, sets, env.watcher)
    )

    def make_line() -> SerialLine:
        return SerialLine(
            key,
            framer,
            make_connector(device.id, profile, settings),
            port,
            multidrop=link.multidrop,
            retry_s=link.retry_s,
            wait_change=None if env.connector else env.watcher.wait_change,
        )

    env.lines.declare(
        key,
        profile,
        link,
        device_id=device.id,
        address=endpoint.address,
        factory=make_line,
        file=file,
        where=where,
    )
    return SerialDriver(endpoint, key, env.lines)


def build_drivers(
    devices: Sequence[DeviceSection],
    profiles: ProfileSet,
    port: HubPort,
    *,
    env: DriverEnv | None = None,
    file: str = "hall.toml",
) -> dict[str, Driver]:
    """Drivers of all serial devices, by device id; devices on one bus share its line."""
    env = env or DriverEnv()
    out: dict[str, Driver] = {}
    for i, device in enumerate(devices):
        profile = profiles.get_profile(device.profile, file, f"devices[{i}] ({device.id}).profile")
        driver = build_driver(
            device, profile, port, env=env, file=file, where=f"devices[{i}] ({device.id})"
        )
        if driver is not None:
            out[device.id] = driver
    return out


def build_codec(
    device: DeviceSection, profile: Profile, file: str = "hall.toml", where: str = "devices"
) -> MqttCodec | None:
    """The vendor-format codec of an MQTT device; None for serial and generic-convention ones."""
    if not isinstance(profile.transport, MqttLink) or profile.transport.convention != "vendor":
        return None
    return MqttCodec(device.id, profile, device_settings(device, profile, file, where))
