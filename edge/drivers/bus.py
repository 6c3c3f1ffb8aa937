"""RS-485 multi-drop: several configured devices on one port, one reader dispatching by address.

Devices whose `port` setting names the same port share one `SerialLine`: the callers and
rating pads of a hall are daisy-chained on one RS-485 pair and one USB adapter. The book
checks at build time that they agree on the line (baud rate, framing) and have distinct
addresses, and at run time starts the line with its first device and stops it with its last.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.drivers.profile_schema import Profile, SerialLink
from edge.drivers.serial_device import LineEndpoint, SerialLine
from edge.errors import ConfigError


@dataclass(slots=True)
class _Declared:
    profile: Profile
    link: SerialLink
    device_id: str
    factory: Callable[[], SerialLine]
    addresses: dict[int | None, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Running:
    line: SerialLine
    task: asyncio.Task[None]
    members: int = 0


class LineBook:
    """The serial lines of one hub, by port key."""

    def __init__(self) -> None:
        self._declared: dict[str, _Declared] = {}
        self._running: dict[str, _Running] = {}

    def declare(
        self,
        key: str,
        profile: Profile,
        link: SerialLink,
        *,
        device_id: str,
        address: int | None,
        factory: Callable[[], SerialLine],
        file: str = "hall.toml",
        where: str = "devices",
    ) -> None:
        """Record that `device_id` uses the line `key`; ConfigError if it cannot share it."""
        first = self._declared.get(key)
        if first is None:
            self._declared[key] = _Declared(profile, link, device_id, factory, {address: device_id})
            return
        other = first.profile
        if not (link.multidrop and first.link.multidrop):
            raise ConfigError(
                file,
                f"{where}.settings.port",
                f"a port of its own: {first.device_id} uses {key} and one of them "
                "is not a multi-drop (RS-485 bus) model",
                key,
            )
        if (link.baudrate, link.bytesize, link.parity, link.stopbits) != (
            first.link.baudrate,
            first.link.bytesize,
            first.link.parity,
            first.link.stopbits,
        ) or profile.framer != other.framer:
            raise ConfigError(
                file,
                f"{where}.settings.port",
                f"models with the same line settings and framing as {first.device_id} "
                f"({other.id}) on {key}",
                profile.id,
            )
        if address in first.addresses:
            raise ConfigError(
                file,
                f"{where}.settings.address",
                f"an address not used on {key} (device {first.addresses[address]} has it)",
                address,
            )
        first.addresses[address] = device_id

    async def join(self, key: str, endpoint: LineEndpoint) -> None:
        """Serve `endpoint` on line `key` until cancelled; the line runs while it has members."""
        running = self._running.get(key)
        if running is None:
            line = self._declared[key].factory()
            running = _Running(line, asyncio.create_task(line.run(), name=f"line {key}"))
            self._running[key] = running
        running.line.add(endpoint)
        running.members += 1
        try:
            await asyncio.shield(running.task)
        finally:
            running.line.remove(endpoint)
            running.members -= 1
            if running.members == 0:
                del self._running[key]
                running.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running.task
