"""The hub's table of configured devices: availability, command delivery, driver port."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import msgspec

from edge.clock import Clock, utcnow
from edge.config import DeviceSection
from edge.drivers.args import check_args
from edge.drivers.profile_schema import CommandSpec
from edge.errors import CommandError
from edge.model import DEVICE_ERROR, Command, Reply

log = logging.getLogger(__name__)

_json = msgspec.json.Encoder()


class CommandTransport(Protocol):
    """A device's way of receiving commands: a serial driver, or a topic on the hall broker."""

    async def execute(self, cmd: Command) -> Reply: ...


@dataclass(slots=True)
class DeviceEntry:
    config: DeviceSection
    online: bool | None = None  # None: never heard of (MQTT devices that publish no state)
    since: datetime | None = None
    errors: int = 0
    last_error: str = ""
    commands: frozenset[str] | None = None  # None: any command (generic MQTT devices)
    specs: dict[str, CommandSpec] = field(default_factory=dict)  # the profile's commands
    transport: CommandTransport | None = None
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class DeviceTable:
    """Availability of every configured device and the way commands reach it.

    Events about them enter through the intake (edge/hub/intake.py), not here.
    """

    def __init__(
        self,
        devices: list[DeviceSection],
        publish_hall: Callable[[str, bytes, int, bool], bool],
        clock: Clock = utcnow,
    ) -> None:
        self.clock = clock
        self.entries = {d.id: DeviceEntry(d) for d in devices}
        self.publish_hall = publish_hall
        # Told of every availability change: the uplink's retained state, the journal.
        self.on_state_change: list[Callable[[str, dict[str, Any]], None]] = []
        self._replies: dict[str, asyncio.Future[Reply]] = {}

    # -- availability -------------------------------------------------------------------
    def state_of(self, device_id: str) -> dict[str, Any]:
        e = self.entries[device_id]
        state = "unknown" if e.online is None else ("online" if e.online else "offline")
        return {"state": state, "since": e.since.isoformat(timespec="seconds") if e.since else None}

    def states(self) -> dict[str, dict[str, Any]]:
        return {d: self.state_of(d) for d, e in self.entries.items() if e.online is not None}

    def set_online(self, device_id: str, online: bool) -> bool:
        """Record a device's availability; True if it changed (the intake journals that)."""
        e = self.entries.get(device_id)
        if e is None or e.online == online:
            return False
        e.online = online
        e.since = self.clock()
        state = self.state_of(device_id)
        for listener in self.on_state_change:
            listener(device_id, state)
        if online:
            for fut in e.waiters:
                if not fut.done():
                    fut.set_result(None)
            e.waiters.clear()
        return True

    def count_error(self, device_id: str, message: str) -> bool:
        e = self.entries.get(device_id)
        if e is None:
            return False
        e.errors += 1
        e.last_error = message
        return True

    def is_online(self, device_id: str) -> bool:
        e = self.entries.get(device_id)
        # A device that never said anything about its state is presumed reachable: the
        # command then times out (408) rather than waiting for a state that never comes.
        return e is not None and e.online is not False

    async def wait_online(self, device_id: str) -> None:
        e = self.entries[device_id]
        if e.online is not False:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        e.waiters.append(fut)
        await fut

    # -- command delivery ---------------------------------------------------------------
    def knows(self, device_id: str) -> bool:
        return device_id in self.entries

    def accepts(self, device_id: str, name: str) -> bool:
        e = self.entries.get(device_id)
        return e is not None and (e.commands is None or name in e.commands)

    def check(self, cmd: Command) -> None:
        """CommandError(400) if the profile refuses the arguments: done before any wait for
        an offline device, so a bad command is answered at once, not after the wait."""
        e = self.entries.get(cmd.device_id)
        spec = None if e is None else e.specs.get(cmd.name)
        if spec is not None:
            check_args(spec.args, cmd.args, cmd.name, spec.extra_args)

    async def execute(self, cmd: Command, timeout: float) -> Reply:
        e = self.entries[cmd.device_id]
        if e.transport is not None:
            return await asyncio.wait_for(e.transport.execute(cmd), timeout)
        return await asyncio.wait_for(self._mqtt_execute(cmd), timeout)

    def expect_reply(self, cmd_id: str) -> asyncio.Future[Reply]:
        fut: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._replies[cmd_id] = fut
        return fut

    def forget_reply(self, cmd_id: str) -> None:
        self._replies.pop(cmd_id, None)

    async def _mqtt_execute(self, cmd: Command) -> Reply:
        """Generic convention: publish the command, wait for the reply with the same cmd_id."""
        fut = self.expect_reply(cmd.cmd_id)
        try:
            body = _json.encode({"cmd_id": cmd.cmd_id, **cmd.args})
            topic = f"hall/devices/{cmd.device_id}/commands/{cmd.name}"
            if not self.publish_hall(topic, body, 1, False):
                raise CommandError(DEVICE_ERROR, "hall broker unreachable")
            return await fut
        finally:
            self.forget_reply(cmd.cmd_id)

    def deliver_reply(self, reply: Reply) -> None:
        fut = self._replies.get(reply.cmd_id)
        if fut is not None and not fut.done():
            fut.set_result(reply)
