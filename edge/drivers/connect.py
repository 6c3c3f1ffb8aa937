"""Finding and opening a serial device's port: by path, or by hot-plug match, then a probe.

The connector is what a SerialLine calls at every (re)connection, so a device replugged
under another tty number is found again through its by-id link, USB ids or serial number.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from edge.drivers.converters import DeviceContext, bind_encoder
from edge.drivers.device_settings import line_settings
from edge.drivers.endpoint import frame_matcher
from edge.drivers.framing import Frame, make_framer
from edge.drivers.hotplug import PortWatcher, describe, is_pattern
from edge.drivers.profile_schema import Profile
from edge.drivers.serial_device import NoPortError
from edge.drivers.transport import Connector, Transport, open_serial
from edge.errors import LinkError


async def probe(
    transport: Transport, profile: Profile, settings: Mapping[str, Any], device_id: str
) -> bool:
    """Run the profile's probe exchange: does the device on this port answer like this model?"""
    spec = profile.match.probe if profile.match else None
    if spec is None or profile.framer is None:
        return True
    framer = make_framer(profile.framer.name, **profile.framer.params)
    ctx = DeviceContext(device_id, settings, profile.encoding)
    items = bind_encoder(spec.encoder, spec.params, profile.source, "match.probe.encoder")(
        {**settings, "device_id": device_id}, ctx, None
    )
    for item in items:
        transport.write(item if isinstance(item, bytes) else framer.encode(item))
    expect = frame_matcher(spec.expect, profile.encoding)
    try:
        async with asyncio.timeout(spec.timeout_s):
            while True:
                for found in framer.feed(await transport.read()):
                    if isinstance(found, Frame) and expect(found):
                        return True
    except TimeoutError:
        return False


def candidates(profile: Profile, settings: Mapping[str, Any], watcher: PortWatcher) -> list[str]:
    """The paths to try for this device, best first; NoPortError when there are none."""
    wanted = settings.get("port")
    if wanted and not is_pattern(str(wanted)) and not settings.get("serial_number"):
        # A literal path (a by-id link, a udev rule's alias, a socat link) is opened as is:
        # a replugged adapter's link points at its new tty.
        if not os.path.exists(str(wanted)):
            raise NoPortError(f"serial port {wanted} is not there (unplugged?)")
        return [str(wanted)]
    found = watcher.find(profile.match, settings)
    if not found:
        raise NoPortError(
            f"no serial port matches {describe(profile.match, settings)} (unplugged?)"
        )
    return [p.by_id or p.device for p in found]


def serial_connector(
    device_id: str, profile: Profile, settings: Mapping[str, Any], watcher: PortWatcher
) -> Connector:
    """The connector of one serial line: find the port, open it exclusively, probe it."""
    link = line_settings(profile, settings)

    async def connect() -> Transport:
        errors: list[str] = []
        for path in candidates(profile, settings, watcher):
            try:
                transport = await open_serial(path, link)
            except LinkError as exc:
                errors.append(str(exc))
                continue
            if settings.get("probe", True) and not await probe(
                transport, profile, settings, device_id
            ):
                transport.close()
                errors.append(f"{path}: no answer to the {profile.id} probe (another model?)")
                continue
            return transport
        raise LinkError("; ".join(errors))

    return connect
