"""`hall-cloud command`: one command to a hall's device, resent with the same `cmd_id`
until a final reply or the deadline (contract §2, §5, §6).

The hub's cloud session is clean: a command published while it is away is lost, so the
sender publishes again every `resend_s` (the hub runs a `cmd_id` once and answers a
repeat with its first reply). With MQTT 5 the request carries a response topic private to
this sender and the `cmd_id` as correlation data, and the sender listens there only; with
MQTT 3.1.1 it listens on `halls/{hall}/replies/{device}` and picks its `cmd_id` out.

A reply is final unless it is a 202 that announces more: for a device, "device offline;
queued until it is back" and, for any target, "already in progress". For the hub's own
queue commands a 202 is the final reply.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import msgspec
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

ACCEPTED = 202
IN_PROGRESS = "already in progress"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """'30s', '2m', '500ms', '1.5' (seconds) -> seconds; ValueError otherwise."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"expected a duration such as 30s, 2m or 500ms, got {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def is_final(device: str, reply: dict[str, Any]) -> bool:
    if reply.get("code") != ACCEPTED:
        return True
    return device == "hub" and reply.get("msg") != IN_PROGRESS


@dataclass(frozen=True, slots=True)
class Outcome:
    cmd_id: str
    reply: dict[str, Any] | None  # the final reply, or the last interim one at the deadline
    final: bool
    sends: int
    via: str  # "response_topic", "replies_topic" or "" (no reply)


@dataclass(frozen=True, slots=True)
class _Request:
    """One command as published (again and again) and how its replies are recognised."""

    cmd_id: str
    device: str
    topic: str
    body: bytes
    v5: bool
    response_topic: str  # MQTT 5: where the hub answers this sender only

    def properties(self) -> Properties | None:
        if not self.v5:
            return None
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = self.response_topic
        props.CorrelationData = self.cmd_id.encode()
        return props


async def send_command(
    broker: str,
    hall: str,
    device: str,
    name: str,
    args: dict[str, Any],
    *,
    deadline_s: float,
    resend_s: float = 5.0,
    protocol: str = "5",
    cmd_id: str | None = None,
) -> Outcome:
    cmd_id = cmd_id or f"cloud-{secrets.token_hex(8)}"
    client_id = f"hall-cloud-cmd-{secrets.token_hex(4)}"
    deadline = datetime.now(UTC) + timedelta(seconds=deadline_s)
    body = msgspec.json.encode(
        {"cmd_id": cmd_id, "args": args, "deadline": deadline.isoformat(timespec="milliseconds")}
    )
    req = _Request(
        cmd_id,
        device,
        f"halls/{hall}/commands/{device}/{name}",
        body,
        protocol == "5",
        f"hall-cloud/responses/{client_id}",
    )
    ends = asyncio.get_running_loop().time() + deadline_s
    async with _client(broker, client_id, req.v5) as client:
        # MQTT 5: only our own response topic, not every reply of the hall.
        await client.subscribe(
            req.response_topic if req.v5 else f"halls/{hall}/replies/{device}", qos=1
        )
        # One reader that is never cancelled mid-message (see cloud/mqtt_source.py).
        inbox: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        reader = asyncio.create_task(_read(client, inbox))
        try:
            return await _exchange(client, inbox, req, ends, resend_s)
        finally:
            reader.cancel()


def _client(broker: str, client_id: str, v5: bool) -> aiomqtt.Client:
    url = urlsplit(broker)
    tls = url.scheme == "mqtts"
    return aiomqtt.Client(
        url.hostname or "127.0.0.1",
        url.port or (8883 if tls else 1883),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        tls_context=ssl.create_default_context() if tls else None,
        timeout=10,
    )


async def _exchange(
    client: aiomqtt.Client,
    inbox: asyncio.Queue[aiomqtt.Message],
    req: _Request,
    ends: float,
    resend_s: float,
) -> Outcome:
    """Publish every `resend_s` until a final reply or `ends` (the loop's time)."""
    loop = asyncio.get_running_loop()
    props = req.properties()
    last: dict[str, Any] | None = None
    via = ""
    sends = 0
    while loop.time() < ends:
        await client.publish(req.topic, req.body, qos=1, properties=props)
        sends += 1
        log.info("command %s sent (%d)", req.cmd_id, sends)
        next_send = min(loop.time() + resend_s, ends)
        while (got := await _next_reply(inbox, req, next_send)) is not None:
            msg, last = got
            via = "response_topic" if msg.topic.value == req.response_topic else "replies_topic"
            if is_final(req.device, last):
                log.info("command %s: final %s via %s", req.cmd_id, last["code"], via)
                return Outcome(req.cmd_id, last, True, sends, via)
            log.info("command %s: interim reply %s", req.cmd_id, last["code"])
    return Outcome(req.cmd_id, last, False, sends, via)


async def _next_reply(
    inbox: asyncio.Queue[aiomqtt.Message], req: _Request, until: float
) -> tuple[aiomqtt.Message, dict[str, Any]] | None:
    """The next reply to `req` that arrives before `until` (the loop's time), else None."""
    loop = asyncio.get_running_loop()
    while (left := until - loop.time()) > 0:
        try:
            msg = await asyncio.wait_for(inbox.get(), left)
        except TimeoutError:
            return None
        reply = _reply_of(msg, req.cmd_id, req.v5)
        if reply is not None:
            return msg, reply
    return None


async def _read(client: aiomqtt.Client, inbox: asyncio.Queue[aiomqtt.Message]) -> None:
    try:
        async for m in client.messages:
            inbox.put_nowait(m)
    except aiomqtt.MqttError as exc:
        log.warning("broker: %s", exc)


def _reply_of(msg: aiomqtt.Message, cmd_id: str, v5: bool) -> dict[str, Any] | None:
    if v5 and msg.properties is not None:
        correlation = getattr(msg.properties, "CorrelationData", None)
        if correlation is not None and correlation != cmd_id.encode():
            return None
    try:
        reply = msgspec.json.decode(bytes(msg.payload))
    except msgspec.DecodeError:
        return None
    if not isinstance(reply, dict) or reply.get("cmd_id") != cmd_id:
        return None  # someone else's command on the hall's replies topic
    return reply
