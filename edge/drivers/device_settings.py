"""A configured device's `settings` (hall.toml `[[devices]]`), checked against its profile.

Serial devices share a few settings every profile accepts (the port, the adapter's serial
number, the bus address); a profile declares any others it needs (`settings:` in its YAML,
e.g. the counter number of a caller or the vendor serial of a robot).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from edge.config.hub import DeviceSection
from edge.drivers.profile_schema import Profile, SerialLink, SettingSpec
from edge.errors import ConfigError

SERIAL_SETTINGS: dict[str, SettingSpec] = {
    "port": SettingSpec(
        doc="the port: /dev/ttyUSB0, a /dev/serial/by-id/... link, or a glob over them; "
        "without it the profile's USB ids and by-id patterns find the port"
    ),
    "serial_number": SettingSpec(doc="the USB adapter's serial number, to tell twins apart"),
    # The adapter's USB ids when the profile's (match: usb:) are not this adapter's: used by
    # hot-plug and by the udev rules of `hall-edge install` (/dev/hall/{device id}).
    "usb_vendor": SettingSpec(doc="the USB adapter's vendor id, 4 hex digits (lsusb: 1a86)"),
    "usb_product": SettingSpec(doc="the USB adapter's product id, 4 hex digits (lsusb: 7523)"),
    "address": SettingSpec(type="int", min=0, max=255, doc="the bus address (multi-drop lines)"),
    "probe": SettingSpec(type="bool", default=True, doc="run the profile's probe exchange"),
    "baudrate": SettingSpec(
        type="int",
        choices=[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200],
        doc="this device's baud rate, when it was set up differently from the model's default",
    ),
    "parity": SettingSpec(
        choices=["N", "E", "O"], doc="this device's parity, when different from the model's default"
    ),
}

_HEX4 = re.compile(r"^[0-9a-fA-F]{4}$")

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
}


def known_settings(profile: Profile) -> dict[str, SettingSpec]:
    """Every setting a device of this profile accepts, with its spec."""
    base = dict(SERIAL_SETTINGS) if profile.serial is not None else {}
    if profile.serial is not None and profile.serial.multidrop:
        base["address"] = SettingSpec(
            type="int",
            required=True,
            min=0,
            max=255,
            doc="the bus address (required on a shared line)",
        )
    return {**base, **profile.settings}


def check_value(spec: SettingSpec, value: Any, file: str, key: str) -> Any:
    """One value against its spec; ConfigError naming `key` when it does not fit."""
    ok = isinstance(value, _TYPES[spec.type]) and not (
        spec.type != "bool" and isinstance(value, bool)
    )
    if not ok:
        raise ConfigError(file, key, f"a value of type {spec.type}", value)
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(file, key, "one of " + ", ".join(map(repr, spec.choices)), value)
    if spec.min is not None and value < spec.min:
        raise ConfigError(file, key, f"at least {spec.min:g}", value)
    if spec.max is not None and value > spec.max:
        raise ConfigError(file, key, f"at most {spec.max:g}", value)
    return value


def device_settings(
    device: DeviceSection, profile: Profile, file: str = "hall.toml", key: str = "devices"
) -> dict[str, Any]:
    """The device's settings completed with defaults; ConfigError naming the bad key."""
    specs = known_settings(profile)
    for name in device.settings:
        if name not in specs:
            expected = "one of " + ", ".join(sorted(specs)) if specs else "no settings"
            raise ConfigError(
                file, f"{key}.settings.{name}", f"{expected} (profile {profile.id})", name
            )
    out: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in device.settings:
            out[name] = check_value(spec, device.settings[name], file, f"{key}.settings.{name}")
        elif spec.required:
            raise ConfigError(
                file, f"{key}.settings.{name}", f"this setting, which profile {profile.id} requires"
            )
        else:
            out[name] = spec.default
    for name in ("usb_vendor", "usb_product"):
        value = out.get(name)
        if value is not None and not _HEX4.match(str(value)):
            raise ConfigError(
                file, f"{key}.settings.{name}", "4 hex digits as lsusb shows them (1a86)", value
            )
    if out.get("usb_product") is not None and out.get("usb_vendor") is None:
        raise ConfigError(file, f"{key}.settings.usb_vendor", "the vendor id with usb_product")
    return out


def line_settings(profile: Profile, settings: Mapping[str, Any]) -> SerialLink:
    """The profile's serial line parameters with the device's own baud rate or parity."""
    link = profile.serial
    if link is None:
        raise ValueError(f"{profile.id} is not a serial profile")
    changes = {k: settings[k] for k in ("baudrate", "parity") if settings.get(k) is not None}
    return msgspec.structs.replace(link, **changes) if changes else link
