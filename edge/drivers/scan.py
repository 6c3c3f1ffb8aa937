"""What `hall-edge devices scan` shows: the serial ports present, which profile and which
configured device each one matches."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from edge.config.hub import DeviceSection
from edge.drivers.device_settings import device_settings
from edge.drivers.hotplug import PortInfo, PortWatcher, is_pattern, port_matches
from edge.drivers.profiles import ProfileSet


@dataclass(frozen=True, slots=True)
class ScannedPort:
    port: PortInfo
    profiles: tuple[str, ...]  # profiles whose hot-plug rules fit the port
    devices: tuple[str, ...]  # configured devices that would use the port


def _claims(port: PortInfo, wanted: str) -> bool:
    """A literal `port` setting names this port, directly or through a symlink."""
    if is_pattern(wanted):
        return False
    real = os.path.realpath(wanted)
    return wanted in (port.device, *port.links) or real == os.path.realpath(port.device)


def scan_ports(
    ports: Sequence[PortInfo],
    profiles: ProfileSet,
    devices: Sequence[DeviceSection] = (),
    file: str = "hall.toml",
) -> list[ScannedPort]:
    """Every port with the serial profiles and configured devices that match it.

    ConfigError (naming `file`) if a configured device has a bad profile or settings.
    """
    serial = {pid: p for pid, p in profiles.items() if p.serial is not None}
    configured = []
    for i, dev in enumerate(devices):
        profile = profiles.get_profile(dev.profile, file, f"devices[{i}] ({dev.id}).profile")
        if profile.serial is not None:
            configured.append(
                (dev.id, profile, device_settings(dev, profile, file, f"devices[{i}] ({dev.id})"))
            )
    out = []
    for port in ports:
        fits = tuple(pid for pid, p in serial.items() if port_matches(port, p.match, {}))
        users = tuple(
            dev_id
            for dev_id, profile, settings in configured
            if port_matches(port, profile.match, settings)
            or (settings.get("port") and _claims(port, str(settings["port"])))
        )
        out.append(ScannedPort(port, fits, users))
    return out


def scan(
    profiles: ProfileSet,
    devices: Sequence[DeviceSection] = (),
    watcher: PortWatcher | None = None,
    file: str = "hall.toml",
) -> tuple[str, list[ScannedPort]]:
    """The watcher's mode (udev or polling) and the scanned ports present now."""
    w = watcher or PortWatcher()
    return w.mode, scan_ports(w.ports(), profiles, devices, file)
