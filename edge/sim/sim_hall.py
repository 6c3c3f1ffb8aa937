"""A light emulator of one hall speaking the hub's cloud contract (docs/contract.md §2,
§3, §7), cheap enough for hundreds in one asyncio process (edge/sim/fleet.py runs them).

A simulated hall has one MQTT 3.1.1 connection (clean session, fixed client id
`hall-edge-{id}`, last will `offline` retained on `halls/{id}/state`), publishes `online`
retained on every connect, numbers its events with `hallseq` under its own `halljournal`,
keeps every event in an in-memory outbox until its PUBACK (so a lost connection resends
it, marked `"resent": true`), and answers commands on `halls/{id}/commands/#` with a 200
reply on `halls/{id}/replies/{device}` (a repeated `cmd_id` gets the first reply again).
A hall given several broker URLs tries the next one when a connection fails.

What it records for the checks: every event id it made (`made`), the PUBACKed ones
(`acked`), the commands it answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiomqtt

from edge import envelope
from edge.model import EventIds

log = logging.getLogger(__name__)

TYPES = (
    ("rating.submitted", "pad-1"),
    ("queue.ticket.issued", "hub"),
    ("queue.ticket.called", "hub"),
    ("device.heartbeat", "kiosk-1"),
)


@dataclass
class SimHall:
    hall_id: str
    urls: list[str]
    rate: float  # events/s
    window: int = 100
    journal: str = ""
    ids: EventIds = field(default_factory=EventIds)
    seq: int = 0
    made: dict[str, int] = field(default_factory=dict)  # event id -> hallseq
    acked: set[str] = field(default_factory=set)
    outbox: OrderedDict[int, tuple[str, str, bytes]] = field(default_factory=OrderedDict)
    replies: dict[str, bytes] = field(default_factory=dict)  # cmd_id -> reply
    connects: int = 0
    url_index: int = 0
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        if not self.journal:
            self.journal = self.ids.new()

    def make_event(self) -> None:
        """Journal one event: numbered, into the outbox."""
        self.seq += 1
        event_id = self.ids.new()
        event_type, device = TYPES[self.seq % len(TYPES)]
        body = envelope.encode(
            hall_id=self.hall_id,
            seq=self.seq,
            event_id=event_id,
            event_type=event_type,
            device_id=device,
            time=datetime.now(UTC),
            tz=UTC,
            data={"n": self.seq, "level": 1 + self.seq % 5, "counter": 1 + self.seq % 12},
            journal=self.journal,
        )
        topic = f"halls/{self.hall_id}/events/{event_type.replace('.', '/')}"
        self.made[event_id] = self.seq
        self.outbox[self.seq] = (event_id, topic, body)
        self._new.set()

    def _state(self, state: str) -> bytes:
        return json.dumps(
            {"state": state, "version": "sim", "since": datetime.now(UTC).isoformat()}
        ).encode()

    def _client(self, url: str) -> aiomqtt.Client:
        u = urlsplit(url)
        return aiomqtt.Client(
            u.hostname or "127.0.0.1",
            port=u.port or 1883,
            identifier=f"hall-edge-{self.hall_id}",
            clean_session=True,
            protocol=aiomqtt.ProtocolVersion.V311,
            keepalive=10,
            timeout=10,  # a publish on a dead connection fails after this
            will=aiomqtt.Will(
                f"halls/{self.hall_id}/state", self._state("offline"), qos=1, retain=True
            ),
            max_inflight_messages=self.window,
        )

    async def run(self, stop: asyncio.Event, generating: asyncio.Event) -> None:
        """Make events at `rate` while `generating` is set; deliver until `stop`."""
        maker = asyncio.create_task(self._make(generating))
        try:
            delay = 0.2
            while not stop.is_set():
                url = self.urls[self.url_index % len(self.urls)]
                try:
                    async with self._client(url) as client:
                        self.connects += 1
                        delay = 0.2
                        await self._session(client, stop)
                except aiomqtt.MqttError as exc:
                    log.debug("%s: %s: %s", self.hall_id, url, exc)
                    self.url_index += 1  # the next node
                    await asyncio.sleep(delay * (0.5 + random.random()))
                    delay = min(delay * 2, 3.0)
        finally:
            maker.cancel()

    async def _make(self, generating: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            await generating.wait()
            self.make_event()
            next_at = max(next_at + 1 / self.rate, loop.time() - 1.0)
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def new_event(self, timeout: float) -> None:
        """Until an event is made (or TIMEOUT s): the outbox had nothing left to send."""
        self._new.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._new.wait(), timeout)

    async def _session(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        await client.publish(f"halls/{self.hall_id}/state", self._state("online"), 1, retain=True)
        await client.subscribe(f"halls/{self.hall_id}/commands/#", qos=1)
        delivery = _Delivery(self, client)
        commands = asyncio.create_task(self._commands(client))
        # The command reader ends only with the connection: then this session is over too
        # (or the hall would go on sending events while deaf to commands).
        commands.add_done_callback(lambda _t: delivery.failed.set())
        try:
            await delivery.run(stop)
            if delivery.failed.is_set():
                raise aiomqtt.MqttError("publish failed")
            # A clean stop: the last PUBACKs, then `offline` like the hub's goodbye.
            await delivery.finish(15)
            await client.publish(
                f"halls/{self.hall_id}/state", self._state("offline"), 1, retain=True
            )
        finally:
            commands.cancel()
            delivery.cancel()

    async def _commands(self, client: aiomqtt.Client) -> None:
        async for msg in client.messages:
            parts = msg.topic.value.split("/")  # halls/{id}/commands/{device}/{name}
            if len(parts) < 5 or not isinstance(msg.payload, bytes):
                continue
            # As the hub: RabbitMQ 3.10 delivers the name's '.' as '/'.
            device, name = parts[3], ".".join(parts[4:])
            try:
                cmd_id = str(json.loads(msg.payload)["cmd_id"])
            except (ValueError, KeyError, TypeError):
                continue
            reply = self.replies.get(cmd_id)
            if reply is None:
                reply = json.dumps(
                    {"cmd_id": cmd_id, "code": 200, "msg": "ok", "data": {"name": name}}
                ).encode()
                self.replies[cmd_id] = reply
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(f"halls/{self.hall_id}/replies/{device}", reply, 1)


class _Delivery:
    """One connection's sending of the outbox: at most `window` events waiting for their
    PUBACK; a PUBACK deletes its event from the outbox (like the hub's), a failed publish
    ends the session (the event stays for the next one)."""

    def __init__(self, hall: SimHall, client: aiomqtt.Client) -> None:
        self.hall = hall
        self.client = client
        self.window = asyncio.Semaphore(hall.window)
        self.inflight: set[int] = set()
        self.failed = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.backlog = set(hall.outbox)  # in the outbox at connect: resent, marked so

    async def run(self, stop: asyncio.Event) -> None:
        """Send what the outbox holds and what is made, until STOP or a failure."""
        outbox = self.hall.outbox
        while not stop.is_set() and not self.failed.is_set():
            pending = [s for s in outbox if s not in self.inflight]
            if not pending:
                await self.hall.new_event(0.5)
                continue
            for seq in pending:
                if self.failed.is_set() or seq not in outbox:
                    break
                await self.window.acquire()
                self._start(seq)

    def _start(self, seq: int) -> None:
        event_id, topic, body = self.hall.outbox[seq]
        if seq in self.backlog:
            body = envelope.mark_resent(body)
        self.inflight.add(seq)
        t = asyncio.create_task(self._send(seq, topic, body, event_id))
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def _send(self, seq: int, topic: str, body: bytes, event_id: str) -> None:
        try:
            await self.client.publish(topic, body, qos=1)
        except aiomqtt.MqttError:
            self.failed.set()
            return
        finally:
            self.window.release()
            self.inflight.discard(seq)
        self.hall.acked.add(event_id)
        self.hall.outbox.pop(seq, None)

    async def finish(self, timeout: float) -> None:
        """Wait up to TIMEOUT s for the PUBACKs still due."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self.tasks), timeout)

    def cancel(self) -> None:
        for t in self.tasks:
            t.cancel()
