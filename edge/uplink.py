"""The cloud connection: outbox drain at QoS 1, hub state, and command intake.

Delivery: an event leaves the outbox only after the cloud broker's PUBACK. After every
(re)connect the backlog — everything journaled before the connection came up and not yet
acknowledged — is sent from the journal in hallseq order, marked `resent`, at a bounded
pace; events journaled while connected go out at once, from memory, in hallseq order too.
The two streams interleave so that live events are not stuck behind hours of backlog;
the cloud orders by `hallseq`. Live events go first, and the backlog may fill only
1/BACKLOG_SHARE of the in-flight window: the rest is always free for them, so a drain at
full speed puts a live event behind a quarter of a window of history, not a whole one.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import operator
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
from edge.mqttsend import MID_SPACE, Publish
from edge.pacing import Backoff, TokenBucket
from edge.store import Journal, JournalReader, Written

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
    # (monotonic time, acked) after each flush of acknowledgements; `rate` reads them.
    _ack_times: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=64))

    @property
    def rate(self) -> float:
        """Acks/s over the last RATE_S seconds (0 when none came): computed when read, so
        that no timer has to tick while the link is idle."""
        now = time.monotonic()
        times = self._ack_times
        while times and now - times[0][0] > RATE_S:
            times.popleft()
        if not times or now <= times[0][0]:
            return 0.0
        t0, n0 = times[0]
        return (self.acked - n0) / (now - t0)

    def note_acks(self) -> None:
        self._ack_times.append((time.monotonic(), self.acked))


Row = tuple[int, str, bytes]  # (seq, type, envelope) of an outbox row, as SQLite gives it
_seq = operator.itemgetter(0)


@dataclass(slots=True)
class _Drain:
    """One connection's reading of the outbox: where the backlog ends (events journaled
    later come live), where the outage ended (what is `resent`), the seq ranges still to
    read, the page being sent (from `at`) and the next one being read."""

    backlog_end: int
    outage_end: int
    bucket: TokenBucket
    todo: deque[list[int]] = field(default_factory=deque)  # [from, to] seq ranges, in order
    page: list[Row] = field(default_factory=list)
    at: int = 0
    reading: asyncio.Future[list[Row]] | None = None
    live_sent: int = 0  # the highest seq sent live on this connection

    @property
    def done(self) -> bool:
        return not self.todo and self.at >= len(self.page) and self.reading is None


# What `envelope.mark_resent` puts in place of an envelope's first byte (`{`): the bulk
# publish writes it before the rest of the stored envelope, so marking copies nothing.
RESENT_PREFIX = envelope.mark_resent(b"{")
# A command subscription not granted in this time: the connection is made again.
SUBACK_S = 10.0
# Outbox rows read with one query: 1,000 (~0.4 MB, and the page read ahead as much) keep
# the drain's reads a small share of its time; the next page is read on the reader's
# thread while this one is sent. 2,000 drained no faster and held 1 MB more at the peak
# of hub.sh's burst (docs/performance.md).
PAGE_ROWS = 1000
# A paced backlog goes out in runs of this many events (at the shipped 2,000/s one wake-up
# every 16 ms, not one per event); a live event is never held back by it.
PACED_RUN = 32
# Acknowledgements arriving within this time after the first are deleted together.
ACK_FLUSH_S = 0.05
RATE_S = 2.5  # UplinkStats.rate's span


class Uplink:
    """Owns the connection to the cloud broker; the hub supervises its `run`."""

    # Events kept in memory for the live stream before falling back to disk: 20,000 held
    # about 12 MB of envelopes in a burst (docs/performance.md, issue #18 round 2); past
    # 1,000 (the in-flight window) a queue only adds memory, the outbox has them anyway.
    LIVE_LIMIT = 1_000
    # A backlog has at most 1/BACKLOG_SHARE of the window in flight, the rest is kept for
    # live events: what is in flight is what a live event queues behind at the cloud
    # broker. bench/backlog.py, unpaced: live p50 43-62 ms with 250 of 1,000, 179-246 ms
    # with 750, and the drain no slower (18-19k against 15-16k events/s).
    BACKLOG_SHARE = 4

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
        self._acks_waiting = asyncio.Event()  # set when _acked has something to flush
        self._topics: dict[str, bytes | str] = {}  # type -> topic, or why it cannot be sent
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
        # Packet ids are 16-bit: leave some for the states and replies paho sends beside.
        window = max(1, min(self.cfg.window, link.server_receive_maximum, MID_SPACE - 1024))
        reserve = window - max(1, window // self.BACKLOG_SHARE)
        self._announce(link)
        loop = asyncio.get_running_loop()
        first = await loop.run_in_executor(self.reader_executor, self.reader.outbox_first)
        drain = _Drain(backlog_end, backlog_end, TokenBucket(self.cfg.drain_rate, float(window)))
        if first is not None and first <= backlog_end:
            drain.todo.append([first, backlog_end])
        flusher = asyncio.create_task(self._ack_flusher())
        link.closed.add_done_callback(lambda _f: self._wake.set())
        self._last_progress = time.monotonic()
        try:
            while link.is_open:
                free = window - len(self._in_flight)
                # Live events first: they are what the hall is doing now.
                live, free = self._send_live(link, drain, free)
                backlog = self._send_backlog(link, drain, free - reserve)
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
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_s(drain, free - reserve))
        finally:
            flusher.cancel()
            if drain.reading is not None:
                drain.reading.cancel()

    def _idle_s(self, drain: _Drain, backlog_free: int) -> float | None:
        """How long to wait for a wake-up (a notify, a PUBACK, a page read, the link
        closing): the bucket's next token when only pacing holds the backlog back, a
        stall check while anything is in flight, else for as long as it takes."""
        paced = drain.at < len(drain.page) and drain.page[drain.at][0] <= drain.outage_end
        if paced and backlog_free > 0:
            return drain.bucket.wait_s(min(backlog_free, PACED_RUN))
        return 0.5 if self._in_flight else None

    def _announce(self, link: MqttLink) -> None:
        """On every connect: the hall's state, each device's, the command subscription."""
        link.publish(self.state_topic, self._state_payload("online"), 1, True)
        for device_id, state in self.device_states().items():
            link.publish(
                f"halls/{self.hall_id}/devices/{device_id}/state", _json.encode(state), 1, True
            )
        link.subscribe([(f"halls/{self.hall_id}/commands/+/#", 1)], grant_within_s=SUBACK_S)

    def _send_live(self, link: MqttLink, drain: _Drain, free: int) -> tuple[bool, int]:
        rows: list[Row] = []
        while free > len(rows) and self._live:
            seq, env, etype = self._live.popleft()
            if seq > drain.backlog_end:
                rows.append((seq, etype, env))
        sent = self._send(link, rows, drain.outage_end)
        if rows:
            drain.live_sent = rows[-1][0]
        if self._live_overflow and not self._live:
            # Fallen back to disk: the rest of this connection's events are backlog, from
            # the first one not sent live (those up to `live_sent` are in flight or gone).
            last = self.journal.last_seq
            start = max(drain.backlog_end, drain.live_sent) + 1
            if start <= last:
                drain.todo.append([start, last])
            drain.backlog_end = last
            self._live_overflow = False
        return bool(rows), free - sent

    def _send_backlog(self, link: MqttLink, drain: _Drain, free: int) -> bool:
        """The outbox rows of `drain.todo`: what waited through the outage is `resent` and
        paced by the bucket (no reconnect storm); what overflowed the live queue later was
        never sent and goes at once. Never waits: a page not read yet wakes the loop."""
        if free <= 0 or drain.done:
            return False
        if drain.at >= len(drain.page) and not self._next_page(drain):
            return False
        page, at = drain.page, drain.at
        end = min(len(page), at + free)
        # What waited through the outage comes first (hallseq order): bisect for its end.
        paced = bisect.bisect_right(page, drain.outage_end, lo=at, hi=end, key=_seq)
        if paced > at:
            # Only the resent part takes tokens, in runs of PACED_RUN; past it nothing waits.
            got = drain.bucket.take_up_to(paced - at, PACED_RUN)
            if got < paced - at:
                end = at + got
        if end <= at:
            return False
        self._send(link, page[at:end], drain.outage_end)
        drain.at = end
        if end >= len(page):
            self._next_page(drain)  # read ahead while this page's PUBACKs come in
        return True

    def _next_page(self, drain: _Drain) -> bool:
        """Make the next page current if it has been read; start reading the one after."""
        if drain.reading is not None:
            if not drain.reading.done():
                return False
            rows = drain.reading.result()
            drain.reading = None
            drain.page, drain.at = rows, 0
            if rows:
                head = drain.todo[0]
                head[0] = rows[-1][0] + 1
                if head[0] > head[1]:
                    drain.todo.popleft()
            elif drain.todo:
                drain.todo.popleft()  # nothing left of this range in the outbox
        if drain.todo and drain.reading is None:
            lo, hi = drain.todo[0]
            loop = asyncio.get_running_loop()
            drain.reading = loop.run_in_executor(
                self.reader_executor, self.reader.outbox_rows, lo, hi, PAGE_ROWS
            )
            drain.reading.add_done_callback(lambda _f: self._wake.set())
        return drain.at < len(drain.page)

    def _send(self, link: MqttLink, rows: Sequence[Row], outage_end: int) -> int:
        """Publish rows as one write: those up to `outage_end` marked `resent`. Returns how
        many are in flight; a row that can never be sent is parked instead."""
        if not rows:
            return 0
        publishes: list[Publish] = []
        seqs: list[int] = []
        limit = link.server_max_packet
        resent = 0
        for seq, etype, env in rows:
            topic = self._topic(etype)
            if isinstance(topic, str) or len(env) + len(topic) + 32 > limit:
                why = (
                    topic
                    if isinstance(topic, str)
                    else f"{len(env)} bytes, the broker takes {limit}"
                )
                self._park(seq, etype, env, why)
                continue
            mark = seq <= outage_end
            resent += mark
            publishes.append((topic, RESENT_PREFIX if mark else b"", env))
            seqs.append(seq)
        if not publishes:
            return 0
        mids = link.publish_bulk(publishes)
        if not self._in_flight:
            self._last_progress = time.monotonic()
        self._in_flight.update(zip(mids, seqs, strict=True))
        self.stats.sent += len(mids)
        self.stats.resent += resent
        self.stats.in_flight = len(self._in_flight)
        return len(mids)

    def _topic(self, etype: str) -> bytes | str:
        """The event type's topic as bytes, or why paho would refuse it (then its events are
        parked: retrying would wedge the whole outbox behind them)."""
        topic = self._topics.get(etype)
        if topic is None:
            raw = self.event_topic(etype).encode()
            if len(raw) > MAX_TOPIC_BYTES:
                topic = f"ValueError: topic of {len(raw)} bytes"
            elif b"+" in raw or b"#" in raw:
                topic = "ValueError: Publish topic cannot contain wildcards."
            else:
                topic = raw
            if len(self._topics) >= 1024:
                self._topics.clear()  # a bound, should event types ever be unbounded
            self._topics[etype] = topic
        return topic

    def _park(self, seq: int, etype: str, env: bytes, reason: str) -> None:
        self.stats.parked += 1
        log.error("cloud: event %d (%.80s) cannot be sent, parked: %s", seq, etype, reason)
        self._acked.append(seq)  # out of the outbox with the next flush
        self._acks_waiting.set()
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
        self._acks_waiting.set()
        self.stats.acked += 1
        self.stats.in_flight = len(self._in_flight)
        self._wake.set()

    async def _ack_flusher(self) -> None:
        # Wakes only when there are acknowledgements: an idle link costs no timer.
        while True:
            await self._acks_waiting.wait()
            await asyncio.sleep(ACK_FLUSH_S)  # what comes meanwhile goes in the same delete
            self._acks_waiting.clear()
            await self._flush_acked()
            self.stats.note_acks()

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
