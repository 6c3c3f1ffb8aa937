"""A light emulator of many halls speaking the hub's cloud contract (docs/contract.md §2,
§3, §7), cheap enough for hundreds of halls in one asyncio process.

Each simulated hall has one MQTT 3.1.1 connection (clean session, fixed client id
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

    async def _session(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        await client.publish(f"halls/{self.hall_id}/state", self._state("online"), 1, retain=True)
        await client.subscribe(f"halls/{self.hall_id}/commands/#", qos=1)
        commands = asyncio.create_task(self._commands(client))
        window = asyncio.Semaphore(self.window)
        inflight: set[int] = set()
        failed = asyncio.Event()
        # The command reader ends only with the connection: then this session is over too
        # (or the hall would go on sending events while deaf to commands).
        commands.add_done_callback(lambda _t: failed.set())

        async def send(seq: int, topic: str, body: bytes, event_id: str) -> None:
            try:
                await client.publish(topic, body, qos=1)
            except aiomqtt.MqttError:
                failed.set()
                return
            finally:
                window.release()
                inflight.discard(seq)
            self.acked.add(event_id)
            self.outbox.pop(seq, None)  # deleted on PUBACK, like the hub's outbox

        tasks: set[asyncio.Task[None]] = set()
        try:
            backlog = set(self.outbox)  # in the outbox at connect: resent, marked so
            while not stop.is_set() and not failed.is_set():
                pending = [s for s in self.outbox if s not in inflight]
                if not pending:
                    self._new.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._new.wait(), 0.5)
                    continue
                for seq in pending:
                    if failed.is_set() or seq not in self.outbox:
                        break
                    await window.acquire()
                    event_id, topic, body = self.outbox[seq]
                    if seq in backlog:
                        body = envelope.mark_resent(body)
                    inflight.add(seq)
                    t = asyncio.create_task(send(seq, topic, body, event_id))
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)
            if failed.is_set():
                raise aiomqtt.MqttError("publish failed")
            # A clean stop: the last PUBACKs, then `offline` like the hub's goodbye.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks), 15)
            await client.publish(
                f"halls/{self.hall_id}/state", self._state("offline"), 1, retain=True
            )
        finally:
            commands.cancel()
            for t in tasks:
                t.cancel()

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


@dataclass
class Fleet:
    """N simulated halls `sim-000`... spread over the broker URLs (hall i starts on
    url i mod len)."""

    halls: list[SimHall]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    generating: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def make(cls, n: int, urls: list[str], rate: float, prefix: str = "sim") -> Fleet:
        halls = [
            SimHall(f"{prefix}-{i:03d}", urls, rate, url_index=i % len(urls)) for i in range(n)
        ]
        return cls(halls)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        default = loop.get_exception_handler()

        def quiet(lp: asyncio.AbstractEventLoop, ctx: dict[str, object]) -> None:
            # aiomqtt leaves the futures of a dropped connection unretrieved, and paho's
            # writer callbacks can outlive the socket a killed node closed: expected here.
            if isinstance(ctx.get("exception"), aiomqtt.MqttError | OSError):
                return
            (default or asyncio.BaseEventLoop.default_exception_handler)(lp, ctx)  # type: ignore[arg-type]

        loop.set_exception_handler(quiet)
        self.generating.set()
        self.tasks = [asyncio.create_task(h.run(self.stop, self.generating)) for h in self.halls]

    def pause(self) -> None:
        """No new events; what is in the outboxes is still delivered."""
        self.generating.clear()

    async def drained(self, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        while loop.time() < until:
            if all(not h.outbox for h in self.halls):
                return True
            await asyncio.sleep(0.2)
        return False

    async def close(self) -> None:
        self.stop.set()
        for t in self.tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(t, 20)

    def made(self) -> dict[tuple[str, str], int]:
        return {(h.hall_id, i): s for h in self.halls for i, s in h.made.items()}
