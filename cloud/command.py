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
    v5 = protocol == "5"
    deadline = datetime.now(UTC) + timedelta(seconds=deadline_s)
    body = msgspec.json.encode(
        {"cmd_id": cmd_id, "args": args, "deadline": deadline.isoformat(timespec="milliseconds")}
    )
    replies_topic = f"halls/{hall}/replies/{device}"
    response_topic = f"hall-cloud/responses/{client_id}"
    props = None
    if v5:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = response_topic
        props.CorrelationData = cmd_id.encode()
    url = urlsplit(broker)
    tls = url.scheme == "mqtts"
    loop = asyncio.get_running_loop()
    ends = loop.time() + deadline_s
    last: dict[str, Any] | None = None
    via = ""
    sends = 0
    async with aiomqtt.Client(
        url.hostname or "127.0.0.1",
        url.port or (8883 if tls else 1883),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        tls_context=ssl.create_default_context() if tls else None,
        timeout=10,
    ) as client:
        # MQTT 5: only our own response topic, not every reply of the hall.
        await client.subscribe(response_topic if v5 else replies_topic, qos=1)
        # One reader that is never cancelled mid-message (see cloud/mqtt_source.py).
        inbox: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        reader = asyncio.create_task(_read(client, inbox))
        try:
            while loop.time() < ends:
                await client.publish(
                    f"halls/{hall}/commands/{device}/{name}", body, qos=1, properties=props
                )
                sends += 1
                log.info("command %s sent (%d)", cmd_id, sends)
                next_send = min(loop.time() + resend_s, ends)
                while (left := next_send - loop.time()) > 0:
                    try:
                        msg = await asyncio.wait_for(inbox.get(), left)
                    except TimeoutError:
                        break
                    reply = _reply_of(msg, cmd_id, v5)
                    if reply is None:
                        continue
                    last = reply
                    via = "response_topic" if msg.topic.value == response_topic else "replies_topic"
                    if is_final(device, reply):
                        log.info("command %s: final %s via %s", cmd_id, reply["code"], via)
                        return Outcome(cmd_id, reply, True, sends, via)
                    log.info("command %s: interim reply %s", cmd_id, reply["code"])
        finally:
            reader.cancel()
    return Outcome(cmd_id, last, False, sends, via)


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
