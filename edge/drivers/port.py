"""What a running driver and the hub offer each other (the driver ↔ hub interface)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from edge.model import Command, Event, Reply

__all__ = ["Driver", "HubPort"]


class HubPort(Protocol):
    """What the hub offers a running driver."""

    def submit(self, event: Event, on_committed: Callable[[], None] | None = None) -> None:
        """Journal the event; `on_committed` runs on the event loop after the commit."""
        ...

    def dead_letter(self, device_id: str, raw: bytes, where: str, reason: str) -> None:
        """Keep a frame or payload that could not become an event (`where`: topic or port)."""
        ...

    def set_online(self, device_id: str, online: bool, reason: str = "") -> None:
        """Availability: the hub journals device.online / device.offline on change."""
        ...

    def log_error(self, device_id: str, message: str) -> None:
        """Count an error against the device and log it."""
        ...


class Driver(Protocol):
    """A running device: owns its transport, reconnects itself, never raises for device faults."""

    device_id: str

    async def run(self) -> None:
        """Serve the device until cancelled; report faults with set_online / log_error."""
        ...

    async def execute(self, cmd: Command) -> Reply:
        """Carry out a command; raise CommandError(code, msg) with 400/404/408/500/503."""
        ...
