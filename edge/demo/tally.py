"""What reached the cloud broker, counted: the demo's view of the hall from the cloud side.

Fed from the MQTT client's thread, read from the dashboard's: every public method takes the
lock, and `snapshot()` hands out copies.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import msgspec

from edge.demo.describe import describe

_decode = msgspec.json.Decoder()
RATE_WINDOW_S = 5.0


@dataclass(frozen=True, slots=True)
class EventLine:
    """One event as the "last events" list shows it."""

    seq: int
    type: str
    device: str
    clock: str  # HH:MM:SS of the event's own time, hall time
    text: str
    resent: bool = False
    severity: str = ""  # alerts only


@dataclass(frozen=True, slots=True)
class ReplyLine:
    device: str
    code: int
    msg: str
    cmd_id: str


@dataclass(slots=True)
class CounterLine:
    """A counter as the cloud sees it from the queue's events."""

    state: str = "closed"
    ticket: str = ""
    served: int = 0


@dataclass(frozen=True, slots=True)
class SeqReport:
    """hallseq as received: range, distinct count, holes and repeats."""

    first: int | None
    last: int | None
    distinct: int
    missing: int
    gaps: tuple[tuple[int, int], ...]  # the first few holes, as inclusive ranges
    duplicates: int  # envelopes received again (same id), e.g. resent after a reconnect


@dataclass(frozen=True, slots=True)
class TallySnapshot:
    """A copy of the tally at one moment, for rendering."""

    events: int
    rate: float
    by_type: dict[str, int]
    by_device: dict[str, int]
    by_source: dict[tuple[str, str], int]  # (device id, event type) -> count
    resent: int
    recent: tuple[EventLine, ...]
    queue: dict[str, dict[str, Any]]
    counters: dict[int, CounterLine]
    alerts: tuple[EventLine, ...]
    alerts_total: int
    replies: dict[int, int]
    recent_replies: tuple[ReplyLine, ...]
    failures: dict[tuple[int, str, str], int]  # (code, device, msg) of replies >= 400
    hub_state: str
    devices: dict[str, str]
    ratings: dict[int, int]
    unreadable: int
    seq: SeqReport


@dataclass
class _Seqs:
    seen: set[int] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    duplicates: int = 0
    highest: int = 0

    def add(self, seq: int, event_id: str) -> bool:
        """Record one envelope; False when it was received before."""
        if event_id in self.ids or (not event_id and seq in self.seen):
            self.duplicates += 1
            return False
        self.ids.add(event_id)
        self.seen.add(seq)
        self.highest = max(self.highest, seq)
        return True

    def report(self, max_gaps: int = 8) -> SeqReport:
        if not self.seen:
            return SeqReport(None, None, 0, 0, (), self.duplicates)
        ordered = sorted(self.seen)
        gaps: list[tuple[int, int]] = []
        missing = 0
        for a, b in itertools.pairwise(ordered):
            if b > a + 1:
                missing += b - a - 1
                if len(gaps) < max_gaps:
                    gaps.append((a + 1, b - 1))
        return SeqReport(
            ordered[0], ordered[-1], len(ordered), missing, tuple(gaps), self.duplicates
        )


class CloudTally:
    """Counts and remembers the messages of one hall on the cloud broker."""

    def __init__(self, hall_id: str, recent: int = 40, alerts: int = 8) -> None:
        self.hall_id = hall_id
        self.prefix = f"halls/{hall_id}/"
        self.lock = threading.Lock()
        self._by_type: Counter[str] = Counter()
        self._by_device: Counter[str] = Counter()
        self._by_source: Counter[tuple[str, str]] = Counter()
        self._events = 0
        self._resent = 0
        self._arrivals: deque[float] = deque()
        self._recent: deque[EventLine] = deque(maxlen=recent)
        self._alerts: deque[EventLine] = deque(maxlen=alerts)
        self._alerts_total = 0
        self._queue: dict[str, dict[str, Any]] = {}
        self._queue_seq: dict[str, int] = {}
        self._counters: dict[int, CounterLine] = {}
        self._replies: Counter[int] = Counter()
        self._failures: Counter[tuple[int, str, str]] = Counter()  # (code, device, msg)
        self._recent_replies: deque[ReplyLine] = deque(maxlen=6)
        self._hub_state = "unknown"
        self._devices: dict[str, str] = {}
        self._ratings: Counter[int] = Counter()
        self._unreadable = 0
        self._seqs = _Seqs()

    # -- intake (MQTT thread) -------------------------------------------------------------
    def on_message(self, topic: str, payload: bytes, now: float) -> None:
        """One message from `halls/{hall}/#`; `now` is a monotonic time in seconds."""
        if not topic.startswith(self.prefix):
            return
        rest = topic[len(self.prefix) :]
        try:
            doc = _decode.decode(payload) if payload else None
        except msgspec.DecodeError:
            doc = None
        with self.lock:
            if payload and not isinstance(doc, dict):
                self._unreadable += 1
                return
            if doc is None:
                return  # a retained message being cleared
            if rest.startswith("events/"):
                self._event(doc, now)
            elif rest == "state":
                self._hub_state = str(doc.get("state", "?"))
            elif rest.startswith("devices/") and rest.endswith("/state"):
                self._devices[rest.split("/")[1]] = str(doc.get("state", "?"))
            elif rest.startswith("replies/"):
                self._reply(rest.split("/", 1)[1], doc)
            elif rest.startswith("queue/status/"):
                seq = doc.get("hallseq")
                self._queue_status(doc, seq if isinstance(seq, int) else 0)

    def _event(self, env: dict[str, Any], now: float) -> None:
        seq = env.get("hallseq")
        etype = str(env.get("type", "?"))
        if not isinstance(seq, int) or not self._seqs.add(seq, str(env.get("id", ""))):
            if not isinstance(seq, int):
                self._unreadable += 1
            return
        data = env.get("data")
        data = data if isinstance(data, dict) else {}
        device = str(env.get("deviceid", "?"))
        self._events += 1
        self._by_type[etype] += 1
        self._by_device[device] += 1
        self._by_source[device, etype] += 1
        self._arrivals.append(now)
        resent = bool(env.get("resent"))
        self._resent += resent
        clock = str(env.get("time", ""))[11:19]
        severity = str(data.get("severity", "")) if etype == "alert.raised" else ""
        line = EventLine(seq, etype, device, clock, describe(etype, data), resent, severity)
        self._recent.append(line)
        if etype == "alert.raised":
            self._alerts_total += 1
            self._alerts.append(line)
        elif etype == "queue.status":
            self._queue_status(data, seq)
        elif etype == "rating.submitted" and isinstance(data.get("level"), int):
            self._ratings[data["level"]] += 1
        self._counter_event(etype, data)

    def _queue_status(self, data: dict[str, Any], seq: int) -> None:
        service = str(data.get("service", "?"))
        # The retained copy and the event both arrive: keep the newest by hallseq.
        if seq >= self._queue_seq.get(service, -1):
            self._queue_seq[service] = seq
            self._queue[service] = dict(data)

    def _counter_event(self, etype: str, data: dict[str, Any]) -> None:
        number = data.get("counter")
        if not isinstance(number, int):
            return
        line = self._counters.setdefault(number, CounterLine())
        if etype == "counter.state_changed":
            line.state = str(data.get("state", line.state))
        elif etype == "queue.ticket.called":
            line.ticket = str(data.get("ticket_no", ""))
            line.state = "open"
        elif etype in ("queue.ticket.completed", "queue.ticket.abandoned"):
            line.served += etype == "queue.ticket.completed"
            if line.ticket == data.get("ticket_no"):
                line.ticket = ""

    def _reply(self, device: str, doc: dict[str, Any]) -> None:
        code = doc.get("code")
        if not isinstance(code, int):
            self._unreadable += 1
            return
        self._replies[code] += 1
        if code >= 400:  # each refusal and failure with its reason, for the summary
            self._failures[code, device, str(doc.get("msg", ""))[:100]] += 1
        self._recent_replies.append(
            ReplyLine(device, code, str(doc.get("msg", ""))[:40], str(doc.get("cmd_id", "")))
        )

    # -- reading (any thread) --------------------------------------------------------------
    def snapshot(self, now: float) -> TallySnapshot:
        """A consistent copy; the rate is over the last few seconds before `now`."""
        with self.lock:
            while self._arrivals and self._arrivals[0] <= now - RATE_WINDOW_S:
                self._arrivals.popleft()
            return TallySnapshot(
                events=self._events,
                rate=len(self._arrivals) / RATE_WINDOW_S,
                by_type=dict(self._by_type),
                by_device=dict(self._by_device),
                by_source=dict(self._by_source),
                resent=self._resent,
                recent=tuple(self._recent),
                queue={k: dict(v) for k, v in self._queue.items()},
                counters={
                    k: CounterLine(v.state, v.ticket, v.served) for k, v in self._counters.items()
                },
                alerts=tuple(self._alerts),
                alerts_total=self._alerts_total,
                replies=dict(self._replies),
                recent_replies=tuple(self._recent_replies),
                failures=dict(self._failures),
                hub_state=self._hub_state,
                devices=dict(self._devices),
                ratings=dict(self._ratings),
                unreadable=self._unreadable,
                seq=self._seqs.report(),
            )

    def seq_report(self) -> SeqReport:
        """hallseq range, holes and repeats of everything received so far."""
        with self.lock:
            return self._seqs.report()

    def max_seq(self) -> int:
        """The highest hallseq received (0 before any)."""
        with self.lock:
            return self._seqs.highest
