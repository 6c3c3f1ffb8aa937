"""Commands: from the cloud (and from the hub's own services) to devices, replies back.

Reply codes (docs/contract.md §6): 200 done, 202 accepted and queued for an offline device, 400 bad
arguments, 404 unknown device or command, 408 no answer in time, 500 device error, 503
device offline past the deadline. A repeated cmd_id is not executed twice: its first
reply is sent again (the command log is in the journal database, so this holds across
restarts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec

from edge.errors import CommandError
from edge.model import (
    ACCEPTED,
    BAD_ARGS,
    DONE,
    HUB_DEVICE,
    NOT_FOUND,
    OFFLINE,
    TIMEOUT,
    Command,
    EventIds,
    Reply,
)

log = logging.getLogger(__name__)

_json = msgspec.json.Encoder()
_decode = msgspec.json.Decoder()

HubHandler = Callable[[Command], Awaitable[Mapping[str, Any]]]


class DeviceGateway(Protocol):
    """How a command reaches a device (MQTT topic or a serial driver)."""

    def knows(self, device_id: str) -> bool: ...

    def accepts(self, device_id: str, name: str) -> bool: ...

    def check(self, cmd: Command) -> None: ...

    def is_online(self, device_id: str) -> bool: ...

    async def wait_online(self, device_id: str) -> None: ...

    async def execute(self, cmd: Command, timeout: float) -> Reply: ...


class CommandLog(Protocol):
    async def seen(self, cmd_id: str, device_id: str, name: str) -> tuple[bool, bytes | None]: ...

    async def replied(self, cmd_id: str, code: int, reply: bytes) -> None: ...


class CommandRouter:
    def __init__(
        self,
        gateway: DeviceGateway,
        log_: CommandLog,
        publish_reply: Callable[[str, bytes, str | None, bytes | None], bool],
        timeout_s: float,
        offline_wait_s: float,
        on_internal_failure: Callable[[Command, str], None] = lambda c, e: None,
    ) -> None:
        self.gateway = gateway
        self.log = log_
        self.publish_reply = publish_reply
        self.timeout_s = timeout_s
        self.offline_wait_s = offline_wait_s
        self.on_internal_failure = on_internal_failure
        self.hub_handlers: dict[str, HubHandler] = {}
        self.ids = EventIds()
        self.counts: dict[int, int] = {}  # replies to the cloud, by code
        self.internal_counts: dict[int, int] = {}  # commands from the queue, rules, services

    def register(self, name: str, handler: HubHandler) -> None:
        self.hub_handlers[name] = handler

    # -- from the cloud -----------------------------------------------------------------
    async def from_cloud(
        self,
        device_id: str,
        name: str,
        payload: bytes,
        response_topic: str | None = None,
        correlation: bytes | None = None,
    ) -> Reply:
        try:
            cmd = parse_cloud_command(device_id, name, payload)
        except CommandError as exc:
            cmd_id = _guess_cmd_id(payload)
            reply = Reply(cmd_id, exc.code, exc.msg)
            self._send(device_id, reply, response_topic, correlation)
            return reply
        seen, first = await self.log.seen(cmd.cmd_id, device_id, name)
        if seen:
            if first is not None:
                # The first reply, again, without running the command twice.
                self.publish_reply(device_id, first, response_topic, correlation)
                return _reply_from(first)
            reply = Reply(cmd.cmd_id, ACCEPTED, "already in progress")
            self._send(device_id, reply, response_topic, correlation, store=False)
            return reply
        reply = await self.execute(
            cmd, lambda r: self._send(device_id, r, response_topic, correlation, store=False)
        )
        await self.log.replied(cmd.cmd_id, reply.code, _json.encode(reply.as_dict()))
        self._send(device_id, reply, response_topic, correlation, store=False)
        return reply

    def _send(
        self,
        device_id: str,
        reply: Reply,
        response_topic: str | None,
        correlation: bytes | None,
        store: bool = True,
    ) -> None:
        self.counts[reply.code] = self.counts.get(reply.code, 0) + 1
        body = _json.encode(reply.as_dict())
        if store and reply.cmd_id:
            task = asyncio.get_running_loop().create_task(
                self.log.replied(reply.cmd_id, reply.code, body)
            )
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        self.publish_reply(device_id, body, response_topic, correlation)

    # -- from the hub's services and rules ------------------------------------------------
    async def internal(self, cmd: Command) -> Reply:
        if not cmd.cmd_id:
            cmd = Command(
                cmd.device_id, cmd.name, cmd.args, f"hub-{self.ids.new()}", cmd.deadline, cmd.origin
            )
        reply = await self.execute(cmd, None)
        self.internal_counts[reply.code] = self.internal_counts.get(reply.code, 0) + 1
        if reply.code >= 400:
            log.warning(
                "command %s to %s failed: %s %s", cmd.name, cmd.device_id, reply.code, reply.msg
            )
            self.on_internal_failure(cmd, f"{reply.code} {reply.msg}")
        return reply

    # -- the one execution path ---------------------------------------------------------
    async def execute(self, cmd: Command, interim: Callable[[Reply], None] | None) -> Reply:
        if cmd.device_id == HUB_DEVICE:
            return await self._hub(cmd)
        gw = self.gateway
        if not gw.knows(cmd.device_id):
            return Reply(cmd.cmd_id, NOT_FOUND, f"unknown device {cmd.device_id!r}")
        if not gw.accepts(cmd.device_id, cmd.name):
            return Reply(
                cmd.cmd_id, NOT_FOUND, f"device {cmd.device_id!r} has no command {cmd.name!r}"
            )
        try:
            gw.check(cmd)
        except CommandError as exc:
            return Reply(cmd.cmd_id, exc.code, exc.msg)
        if not gw.is_online(cmd.device_id):
            wait = self._remaining(cmd, self.offline_wait_s)
            if wait <= 0:
                return Reply(cmd.cmd_id, OFFLINE, "device offline past the deadline")
            if interim is not None:
                interim(Reply(cmd.cmd_id, ACCEPTED, "device offline; queued until it is back"))
            try:
                await asyncio.wait_for(gw.wait_online(cmd.device_id), wait)
            except TimeoutError:
                return Reply(cmd.cmd_id, OFFLINE, "device offline past the deadline")
        timeout = self._remaining(cmd, self.timeout_s)
        if timeout <= 0:
            return Reply(cmd.cmd_id, TIMEOUT, "deadline passed before the device was reached")
        try:
            return await gw.execute(cmd, timeout)
        except CommandError as exc:
            return Reply(cmd.cmd_id, exc.code, exc.msg)
        except TimeoutError:
            return Reply(cmd.cmd_id, TIMEOUT, f"no reply within {timeout:.1f}s")

    def _remaining(self, cmd: Command, default: float) -> float:
        if cmd.deadline is None:
            return default
        left = (cmd.deadline - datetime.now(UTC)).total_seconds()
        return min(left, default) if default > 0 else left

    async def _hub(self, cmd: Command) -> Reply:
        handler = self.hub_handlers.get(cmd.name)
        if handler is None:
            known = ", ".join(sorted(self.hub_handlers))
            return Reply(
                cmd.cmd_id, NOT_FOUND, f"the hub has no command {cmd.name!r} (it has: {known})"
            )
        try:
            data = await handler(cmd)
        except CommandError as exc:
            return Reply(cmd.cmd_id, exc.code, exc.msg)
        code = int(data.get("_code", DONE)) if isinstance(data, Mapping) else DONE
        body = {k: v for k, v in data.items() if k != "_code"}
        return Reply(cmd.cmd_id, code, "ok" if code == DONE else "accepted", body)


def parse_cloud_command(device_id: str, name: str, payload: bytes) -> Command:
    """`{"cmd_id", "args", "deadline" (RFC 3339)}` -> Command, or CommandError(400)."""
    try:
        obj = _decode.decode(payload)
    except msgspec.DecodeError as exc:
        raise CommandError(BAD_ARGS, f"payload is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise CommandError(BAD_ARGS, "payload must be a JSON object")
    cmd_id = obj.get("cmd_id")
    if not isinstance(cmd_id, str) or not cmd_id:
        raise CommandError(BAD_ARGS, "cmd_id must be a non-empty string")
    args = obj.get("args", {})
    if not isinstance(args, dict):
        raise CommandError(BAD_ARGS, "args must be a JSON object")
    deadline = None
    if obj.get("deadline") is not None:
        raw = obj["deadline"]
        try:
            deadline = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            deadline = None
        if deadline is None or deadline.tzinfo is None:
            raise CommandError(BAD_ARGS, f"deadline must be RFC 3339 with an offset, not {raw!r}")
    return Command(device_id, name, args, cmd_id, deadline, origin="cloud")


def _guess_cmd_id(payload: bytes) -> str:
    try:
        obj = _decode.decode(payload)
    except msgspec.DecodeError:
        return ""
    v = obj.get("cmd_id") if isinstance(obj, dict) else None
    return v if isinstance(v, str) else ""


def _reply_from(body: bytes) -> Reply:
    obj = _decode.decode(body)
    return Reply(
        obj.get("cmd_id", ""), int(obj.get("code", 500)), obj.get("msg", ""), obj.get("data") or {}
    )
