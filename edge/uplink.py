"""The cloud connection: outbox drain at QoS 1, hub state, and command intake.

Delivery: an event leaves the outbox only after the cloud broker's PUBACK. After every
(re)connect the backlog — everything journaled before the connection came up and not yet
acknowledged — is sent from the journal in hallseq order, marked `resent`, at a bounded
pace; events journaled while connected go out at once, from memory, in hallseq order too.
The two streams interleave so that live events are not stuck behind hours of backlog;
the cloud orders by `hallseq`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge import __version__, envelope
from edge.config import CloudSection
from edge.errors import LinkError
from edge.model import type_to_path
from edge.mqttio import MAX_TOPIC_BYTES, LinkOptions, MqttLink, Will
from edge.pacing import Backoff, TokenBucket
from edge.store import Journal, JournalReader, OutboxRow, Written

log = logging.getLogger(__name__)

_json = msgspec.json.Encoder()

# Cloud command handler: (device_id, name, payload, response topic, correlation data).
CommandHandler = Callable[[str, str, bytes, str | None, bytes | None], Awaitable[object]]


@dataclass(slots=True)
class UplinkStats:
    connected: bool = False
    connects: int = 0
    sent: int = 0
    acked: int = 0
    resent: int = 0
    stalls: int = 0
    parked: int = 0
    in_flight: int = 0
    last_error: str = ""
    rate: float = 0.0  # acks/s over the last few seconds
    _ack_times: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=50))


@dataclass(slots=True)
class _Drain:
    """One connection's reading of the outbox: where the backlog ends (events journaled
    later come live), where the outage ended (what is `resent`), and where it has read to."""

    backlog_end: int
    outage_end: int
    cursor: int
    bucket: TokenBucket
    page: deque[OutboxRow] = field(default_factory=deque)
    # Sent live, after `backlog_end` at the time: when an overflow moves `backlog_end` past
    # them, the backlog skips them (they may still be in the outbox, in flight or waiting
    # for the ack flush; read again they went out twice).
    live_sent: int = 0
    skip: list[tuple[int, int]] = field(default_factory=list)  # (after, up to and with)


def _sent_live(drain: _Drain, seq: int) -> bool:
    while drain.skip and drain.skip[0][1] < seq:
        drain.skip.pop(0)  # ranges behind the cursor
    return bool(drain.skip) and drain.skip[0][0] < seq <= drain.skip[0][1]


# A command subscription not granted in this time: the connection is made again.
SUBACK_S = 10.0


class Uplink:
    """Owns the connection to the cloud broker; the hub supervises its `run`."""

    # Events kept in memory for the live stream before falling back to disk: 20,000 held
    # about 12 MB of envelopes in a burst (docs/performance.md, issue #18 round 2).
    LIVE_LIMIT = 2_000

    def __init__(
        self,
        cfg: CloudSection,
        hall_id: str,
        client_id: str,
        journal: Journal,
        journal_executor: Executor,
        reader: JournalReader,
        device_states: Callable[[], dict[str, dict[str, Any]]],
        resolve: Callable[[str], str] = str,
        on_parked: Callable[[int, str, bytes, str], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.hall_id = hall_id
        self.client_id = client_id
        self.journal = journal
        self.journal_executor = journal_executor
        self.reader = reader
        self.reader_executor = ThreadPoolExecutor(1, thread_name_prefix="outbox-read")
        self.on_command: CommandHandler | None = None  # see route_commands
        self.device_states = device_states
        self.resolve = resolve
        self.on_parked = on_parked
        self.stats = UplinkStats()
        self.since = datetime.now(UTC).isoformat(timespec="seconds")
        self.link: MqttLink | None = None
        self._live: deque[tuple[int, bytes, str]] = deque()
        self._live_overflow = False
        self._wake = asyncio.Event()
        self._in_flight: dict[int, int] = {}  # mid -> seq
        self._acked: list[int] = []
        self._last_progress = time.monotonic()
        self.closing = False

    def route_commands(self, handler: CommandHandler) -> None:
        """Where the cloud's commands go (the command router, built after the uplink)."""
        self.on_command = handler

    # -- topics ---------------------------------------------------------------------------
    @property
    def state_topic(self) -> str:
        return f"halls/{self.hall_id}/state"

    def event_topic(self, event_type: str) -> str:
        return f"halls/{self.hall_id}/events/{type_to_path(event_type)}"

    def _state_payload(self, state: str) -> bytes:
        return _json.encode({"state": state, "version": __version__, "since": self.since})

    # -- feeding ------------------------------------------------------------------------
    def notify(self, written: Sequence[Written]) -> None:
        """Freshly journaled events that are bound for the cloud."""
        if self.link is None or not self.stats.connected:
            return  # they are in the outbox; the next connection sends them as backlog
        for w in written:
            if not w.forwarded:
                continue
            if len(self._live) >= self.LIVE_LIMIT:
                # The cloud is slower than the hall: stop holding copies in memory, the
                # outbox has them; they go out as backlog after this connection.
                self._live.clear()
                self._live_overflow = True
            if not self._live_overflow:
                self._live.append((w.event.seq, w.envelope, w.event.type))
        self._wake.set()

    def publish_device_state(self, device_id: str, state: dict[str, Any]) -> None:
        link = self.link
        if link is not None and self.stats.connected:
            with contextlib.suppress(LinkError):
                link.publish(
                    f"halls/{self.hall_id}/devices/{device_id}/state", _json.encode(state), 1, True
                )

    def publish_reply(
        self, device_id: str, reply: bytes, response_topic: str | None, correlation: bytes | None
    ) -> bool:
        link = self.link
        if link is None or not self.stats.connected:
            return False
        try:
            link.publish(f"halls/{self.hall_id}/replies/{device_id}", reply, 1)
            if response_topic:
                props = None
                if correlation is not None and link.options.mqtt5:
                    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                    props.CorrelationData = correlation
                link.publish(response_topic, reply, 1, properties=props)
        except LinkError:
            return False
        return True

    def publish_raw(self, topic: str, payload: bytes, retain: bool = False) -> bool:
        """Hub-level messages outside the event stream (e.g. retained queue.status)."""
        link = self.link
        if link is None or not self.stats.connected:
            return False
        try:
            link.publish(topic, payload, 1, retain)
        except LinkError:
            return False
        return True

    # -- connection loop ----------------------------------------------------------------
    def _options(self) -> LinkOptions:
        c = self.cfg
        return LinkOptions(
            url=c.url,
            client_id=self.client_id,
            mqtt5=c.protocol == "5",
            clean=True,  # the outbox is our session: nothing is left to a broker's memory
            keepalive_s=c.keepalive_s,
            username=c.username,
            password=c.password,
            **c.tls_paths(self.resolve),
            will=Will(self.state_topic, self._state_payload("offline")),
        )

    async def run(self) -> None:
        backoff = Backoff(self.cfg.backoff_min_s, self.cfg.backoff_max_s)
        while True:
            link = MqttLink(
                self._options(), on_message=self._on_message, on_publish=self._on_puback
            )
            try:
                await link.connect()
            except LinkError as exc:
                self.stats.last_error = str(exc)
                delay = backoff.next()
                log.warning("cloud: %s; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            self.link = link
            self.stats.connects += 1
            log.info("cloud: connected to %s", self.cfg.url)
            try:
                await self._serve(link)
            finally:
                self.stats.connected = False
                self.link = None
                self._in_flight.clear()
                self._live.clear()
                link.abort()
                await self._flush_acked()
            if self.closing:
                return
            self.stats.last_error = link.closed.result() if link.closed.done() else "closed"
            log.warning("cloud: connection lost (%s)", self.stats.last_error)
            await asyncio.sleep(backoff.next())

    async def _serve(self, link: MqttLink) -> None:
        # No await between taking the live stream and fixing the backlog's end: every event
        # journaled from here on is notified live, everything before is read from disk.
        self._live.clear()
        self._live_overflow = False
        self.stats.connected = True
        backlog_end = self.journal.last_seq
        window = max(1, min(self.cfg.window, link.server_receive_maximum))
        self._announce(link)
        loop = asyncio.get_running_loop()
        first = await loop.run_in_executor(self.reader_executor, self.reader.outbox_first)
        drain = _Drain(
            backlog_end,
            backlog_end,
            first if first is not None else backlog_end + 1,
            TokenBucket(self.cfg.drain_rate, float(window)),
        )
        flusher = asyncio.create_task(self._ack_flusher())
        link.closed.add_done_callback(lambda _f: self._wake.set())
        self._last_progress = time.monotonic()
        try:
            while link.is_open:
                free = window - len(self._in_flight)
                # Live events first: they are what the hall is doing now.
                live, free = self._send_live(link, drain, free)
                backlog, free = await self._send_backlog(link, drain, free)
                if self._stalled():
                    self.stats.stalls += 1
                    log.error(
                        "cloud: no PUBACK for %.0fs with %d in flight; reconnecting",
                        self.cfg.puback_timeout_s,
                        len(self._in_flight),
                    )
                    return
                if live or backlog:
                    await asyncio.sleep(0)
                    continue
                self._wake.clear()
                timeout = 0.5
                if drain.cursor <= min(drain.backlog_end, drain.outage_end) and free > 0:
                    timeout = drain.bucket.wait_s()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            flusher.cancel()

    def _announce(self, link: MqttLink) -> None:
        """On every connect: the hall's state, each device's, the command subscription."""
        link.publish(self.state_topic, self._state_payload("online"), 1, True)
        for device_id, state in self.device_states().items():
            link.publish(
                f"halls/{self.hall_id}/devices/{device_id}/state", _json.encode(state), 1, True
            )
        link.subscribe([(f"halls/{self.hall_id}/commands/+/#", 1)], grant_within_s=SUBACK_S)

    def _send_live(self, link: MqttLink, drain: _Drain, free: int) -> tuple[bool, int]:
        sent = False
        while free > 0 and self._live:
            seq, env, etype = self._live.popleft()
            if seq <= drain.backlog_end:
                continue
            free -= self._send(link, seq, etype, env)
            drain.live_sent = seq
            sent = True
        if self._live_overflow and not self._live:
            # Fallen back to disk: the rest of this connection's events are backlog.
            if drain.live_sent > drain.backlog_end:
                drain.skip.append((drain.backlog_end, drain.live_sent))
            drain.backlog_end = self.journal.last_seq
            self._live_overflow = False
        return sent, free

    async def _send_backlog(self, link: MqttLink, drain: _Drain, free: int) -> tuple[bool, int]:
        """The outbox from `drain.cursor`: what waited through the outage is `resent` and
        paced by the bucket (no reconnect storm); what overflowed the live queue later was
        never sent and goes at once."""
        if free <= 0 or drain.cursor > drain.backlog_end:
            return False, free
        page = drain.page
        if not page:
            rows = await asyncio.get_running_loop().run_in_executor(
                self.reader_executor, self.reader.outbox_page, drain.cursor, 500
            )
            page.extend(r for r in rows if r.seq <= drain.backlog_end)
            if not page:
                drain.cursor = drain.backlog_end + 1
        sent_any = False
        while page and free > 0:
            row = page[0]
            if _sent_live(drain, row.seq):
                page.popleft()
                drain.cursor = row.seq + 1
                continue
            if row.seq <= drain.outage_end:
                if not drain.bucket.take():
                    break
                sent = self._send(link, row.seq, row.type, envelope.mark_resent(row.envelope))
                self.stats.resent += sent
            else:
                sent = self._send(link, row.seq, row.type, row.envelope)
            page.popleft()
            drain.cursor = row.seq + 1
            free -= sent
            sent_any = True
        return sent_any, free

    def _send(self, link: MqttLink, seq: int, etype: str, env: bytes) -> int:
        """Publish one event; 1 if it is in flight, 0 if it could never be sent and is parked."""
        topic = self.event_topic(etype)
        try:
            if len(topic.encode()) > MAX_TOPIC_BYTES:
                raise ValueError(f"topic of {len(topic.encode())} bytes")
            if len(env) + len(topic) + 16 > link.server_max_packet:
                raise ValueError(f"{len(env)} bytes, the broker takes {link.server_max_packet}")
            mid = link.publish(topic, env, 1)
        except LinkError:
            raise
        except Exception as exc:
            # Refused for this event's own sake (paho checks topics and sizes): retrying
            # would wedge the whole outbox behind it. It leaves the outbox as a dead letter,
            # and the hub journals `event.parked` so the cloud knows why the hallseq is
            # missing.
            self._park(seq, etype, env, f"{type(exc).__name__}: {exc}")
            return 0
        if not self._in_flight:
            self._last_progress = time.monotonic()
        self._in_flight[mid] = seq
        self.stats.sent += 1
        self.stats.in_flight = len(self._in_flight)
        return 1

    def _park(self, seq: int, etype: str, env: bytes, reason: str) -> None:
        self.stats.parked += 1
        log.error("cloud: event %d (%.80s) cannot be sent, parked: %s", seq, etype, reason)
        self._acked.append(seq)  # out of the outbox with the next flush
        if self.on_parked is not None:
            self.on_parked(seq, etype, env, reason)

    def _stalled(self) -> bool:
        return bool(self._in_flight) and (
            time.monotonic() - self._last_progress > self.cfg.puback_timeout_s
        )

    def _on_puback(self, mid: int, rc: int) -> None:
        seq = self._in_flight.pop(mid, None)
        if seq is None:
            return  # a state message or a reply
        self._last_progress = time.monotonic()
        if rc >= 0x80:
            # The broker refused it (e.g. not authorised): keep it in the outbox.
            log.error("cloud refused event %d (reason %d)", seq, rc)
            return
        self._acked.append(seq)
        self.stats.acked += 1
        self.stats.in_flight = len(self._in_flight)
        self._wake.set()

    async def _ack_flusher(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            await self._flush_acked()
            now = time.monotonic()
            self.stats._ack_times.append((now, self.stats.acked))
            t0, n0 = self.stats._ack_times[0]
            if now > t0:
                self.stats.rate = (self.stats.acked - n0) / (now - t0)

    async def _flush_acked(self) -> None:
        if not self._acked:
            return
        acked, self._acked = self._acked, []
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.journal_executor, self.journal.delivered, acked)
        except asyncio.CancelledError:
            # Cancelled while queued behind a commit (the link dropped): nothing was
            # deleted; keep them for the next flush.
            self._acked = acked + self._acked
            raise
        except Exception:
            # Kept for the next flush: an acknowledged event left in the outbox would only
            # be sent again (a duplicate), but it must not be forgotten silently.
            self._acked = acked + self._acked
            log.exception(
                "cloud: could not clear %d acknowledged events from the outbox", len(acked)
            )

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        if len(parts) < 5 or parts[2] != "commands" or self.on_command is None:
            return
        # RabbitMQ 3.10's MQTT plugin delivers a '.' of a topic as '/' (`config.get` comes
        # as `config/get`): the levels after the device are the name's parts.
        name = ".".join(parts[4:])
        props = getattr(msg, "properties", None)
        response = getattr(props, "ResponseTopic", None) if props is not None else None
        corr = getattr(props, "CorrelationData", None) if props is not None else None
        task: asyncio.Future[object] = asyncio.ensure_future(
            self.on_command(parts[3], name, bytes(msg.payload), response, corr)
        )
        task.add_done_callback(_log_failure)

    async def close(self) -> None:
        """Say goodbye: retained offline state, then a clean disconnect."""
        self.closing = True
        link = self.link
        if link is not None and self.stats.connected:
            with contextlib.suppress(LinkError):
                link.publish(self.state_topic, self._state_payload("offline"), 1, True)
            await asyncio.sleep(0.05)
            await self._flush_acked()
            await link.close()
        self.reader_executor.shutdown(wait=False)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("cloud command failed", exc_info=task.exception())
