"""The hub's table of configured devices: availability, command delivery, driver port."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec

from edge.config import DeviceSection
from edge.drivers.args import check_args
from edge.drivers.json_input import decode_json
from edge.drivers.profile_schema import CommandSpec
from edge.errors import CommandError, PayloadError
from edge.hub.pipeline import JournalPipeline
from edge.model import DEVICE_ERROR, Command, Event, Reply
from edge.store import DeadLetter

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
    profile_kind: str = ""
    transport: CommandTransport | None = None
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class DeviceTable:
    """Availability of every configured device and the way commands reach it.

    It is also the `HubPort` the serial drivers talk to (edge/drivers/link.py).
    """

    def __init__(
        self,
        devices: list[DeviceSection],
        pipeline: JournalPipeline,
        publish_hall: Callable[[str, bytes, int, bool], bool],
        on_state_change: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self.entries = {d.id: DeviceEntry(d) for d in devices}
        self.pipeline = pipeline
        self.publish_hall = publish_hall
        self.on_state_change = on_state_change
        self._replies: dict[str, asyncio.Future[Reply]] = {}

    # -- availability -------------------------------------------------------------------
    def state_of(self, device_id: str) -> dict[str, Any]:
        e = self.entries[device_id]
        state = "unknown" if e.online is None else ("online" if e.online else "offline")
        return {"state": state, "since": e.since.isoformat(timespec="seconds") if e.since else None}

    def states(self) -> dict[str, dict[str, Any]]:
        return {d: self.state_of(d) for d, e in self.entries.items() if e.online is not None}

    def set_online(
        self, device_id: str, online: bool, reason: str = "", ack: Callable[[], None] | None = None
    ) -> None:
        e = self.entries.get(device_id)
        if e is None:
            if ack:
                ack()
            return
        if e.online == online:
            if ack:
                ack()
            return
        e.online = online
        e.since = datetime.now(UTC)
        data: dict[str, Any] = {"reason": reason} if reason else {}
        self.pipeline.submit(
            Event("device.online" if online else "device.offline", device_id, data), ack
        )
        self.on_state_change(device_id, self.state_of(device_id))
        if online:
            for fut in e.waiters:
                if not fut.done():
                    fut.set_result(None)
            e.waiters.clear()

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

    # -- HubPort for drivers -----------------------------------------------------------
    def submit(self, event: Event, on_committed: Callable[[], None] | None = None) -> None:
        self.pipeline.submit(event, on_committed)

    def dead_letter(self, device_id: str, raw: bytes, where: str, reason: str) -> None:
        self.pipeline.dead_letter(DeadLetter(where, reason, "", raw, device_id))

    on_error: Callable[[str, str], None] | None = None

    def log_error(self, device_id: str, message: str) -> None:
        e = self.entries.get(device_id)
        if e is not None:
            e.errors += 1
            e.last_error = message
            if self.on_error is not None:
                self.on_error(device_id, message)
        log.warning("device %s: %s", device_id, message)

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

    def on_reply(self, device_id: str, payload: bytes) -> None:
        """A device's reply on hall/devices/{id}/replies; what cannot be read is a dead letter."""
        topic = f"hall/devices/{device_id}/replies"
        try:
            obj = decode_json(payload, "invalid_json")
        except PayloadError as exc:
            self.pipeline.dead_letter(DeadLetter(topic, exc.reason, exc.detail, payload, device_id))
            return
        if not isinstance(obj, dict) or not isinstance(obj.get("cmd_id"), str):
            detail = "reply without cmd_id"
            self.pipeline.dead_letter(DeadLetter(topic, "bad_field", detail, payload, device_id))
            return
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            detail = "reply data is not an object"
            self.pipeline.dead_letter(DeadLetter(topic, "bad_field", detail, payload, device_id))
            return
        msg = obj.get("msg", "")
        self.deliver_reply(Reply(obj["cmd_id"], _code(obj.get("code")), _text(msg), data))

    def deliver_reply(self, reply: Reply) -> None:
        fut = self._replies.get(reply.cmd_id)
        if fut is not None and not fut.done():
            fut.set_result(reply)


def _text(value: object) -> str:
    return "" if isinstance(value, dict | list) else str(value)[:1000]


def _code(value: object) -> int:
    return value if isinstance(value, int) and 100 <= value <= 599 else DEVICE_ERROR
