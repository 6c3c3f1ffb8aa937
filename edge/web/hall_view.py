"""The console's read model of the hall: what each of its views shows, kept up to date from
the journaled events the fan-out hands every service.

`handle` runs for every event the hub journals, so it only files what it needs (a dict
write, a counter) and marks the sections it touched; the JSON of a section is built at most
five times a second by `refresh`, and only for the sections marked. Nothing here holds a
face image, an encoding or a person's name: staff appear by staff id only.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec

from edge.clock import Clock
from edge.config.queue import QueueSection
from edge.model import JournaledEvent, Output
from edge.queue import catalogue as c
from edge.web.live import Live

log = logging.getLogger(__name__)

_json = msgspec.json.Encoder()

SECTIONS = ("hall", "queue", "counters", "devices", "ratings", "ops")
RECENT_CALLS_S = 600  # "tickets called in the last minutes"
RECENT_CALLS_MAX = 30
ALERTS_MAX = 200
DEAD_WINDOW_S = 3600
SATISFIED_LEVEL = 4  # docs/kpi.md: a rating of 4 or 5 is satisfied
ALERT_RAISED, ALERT_ACKED = "alert.raised", "alert.acked"
# The types `rebuild` reads back from today's journal at start-up.
REBUILD_TYPES = (c.TICKET_CALLED, c.TICKET_COMPLETED, c.RATING_RECEIVED, ALERT_RAISED, ALERT_ACKED)


class QueueView(Protocol):
    """What the view reads of the queue manager (edge/queue/manager.py)."""

    def summary(self, now: datetime) -> dict[str, Any]: ...

    def next_numbers(self, service: str, n: int) -> list[str]: ...


@dataclass(slots=True)
class _Tally:
    count: int = 0
    total: float = 0.0
    satisfied: int = 0

    def add(self, value: float, satisfied: bool = False) -> None:
        self.count += 1
        self.total += value
        self.satisfied += satisfied

    def average(self) -> float | None:
        return round(self.total / self.count, 1) if self.count else None


@dataclass(slots=True)
class _Device:
    last_event: datetime | None = None
    last_type: str | None = None
    # The data of its latest status event, filtered for the console when a page is drawn:
    # a busy printer reports many times between two refreshes.
    status: Mapping[str, Any] | None = None
    dead: deque[float] = field(default_factory=deque)  # monotonic times of dead letters


@dataclass(slots=True)
class Alert:
    id: str
    time: str
    kind: str
    severity: str
    text: str
    subject: str
    acked: bool = False
    acked_by: str | None = None


@dataclass(slots=True)
class Sources:
    """What the view reads of the rest of the hub, as plain callables (the web layer sits
    below the hub and imports none of it)."""

    devices: Callable[[], Iterable[Mapping[str, Any]]]  # id, name, kind, online, since
    ops: Callable[[], dict[str, Any]]  # cloud link, journal, hall broker
    ratings: Callable[[], dict[str, Any]]  # the month's race and ranking (edge/web/month_race.py)
    monotonic: Callable[[], float]


class HallView:
    """A service of the fan-out (handle/tick) that keeps the console's sections."""

    name = "console"

    def __init__(
        self,
        hall: tuple[str, str],
        tz: ZoneInfo,
        clock: Clock,
        section: QueueSection,
        queue: QueueView | None,
        sources: Sources,
        live: Live,
    ) -> None:
        self.hall_id, self.hall_name = hall
        self.tz, self.clock, self.section, self.queue = tz, clock, section, queue
        self.sources, self.live = sources, live
        self.day: date | None = None
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_CALLS_MAX)
        self.served: dict[int, _Tally] = {}
        self.rated: dict[int, _Tally] = {}
        self.devices: dict[str, _Device] = {}
        self.alerts: dict[str, Alert] = {}
        self.dirty: set[str] = set(SECTIONS)
        self.ratings_seen = 0  # ratings handled so far: the month's race is read again after one
        self._handlers: dict[str, Callable[[JournaledEvent], None]] = {
            c.TICKET_CALLED: self._called,
            c.TICKET_COMPLETED: self._completed,
            c.RATING_RECEIVED: self._rated,
            ALERT_RAISED: self._alert,
            ALERT_ACKED: self._acked,
        }
        self._queue_types = c.RESULT_TYPES

    # -- the fan-out's service protocol ------------------------------------------------
    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        dev = self.devices.get(event.device_id)
        if dev is None:
            dev = self.devices[event.device_id] = _Device()
        dev.last_event, dev.last_type = event.time, event.type
        if event.type.endswith(".status") and event.device_id != "hub":
            # A device's own health report (printer paper, robot battery): its latest word.
            dev.status = event.data
        self.dirty.add("devices")
        handler = self._handlers.get(event.type)
        if handler is not None:
            self._roll(event.time)
            handler(event)
        if event.type in self._queue_types:
            self.dirty.update(("queue", "counters"))
        return ()

    def tick(self, now: datetime) -> Sequence[Output]:
        # Waits grow and calls age out with time alone.
        self.dirty.update(("hall", "queue", "ops"))
        return ()

    def dead_letter(self, device_id: str | None) -> None:
        dev = self.devices.setdefault(device_id or "?", _Device())
        dev.dead.append(self.sources.monotonic())
        self.dirty.add("devices")

    def rebuild(self, events: Iterable[JournaledEvent]) -> None:
        """Today's calls, services, ratings and alerts, from the journal (at start-up)."""
        for ev in events:
            handler = self._handlers.get(ev.type)
            if handler is not None:
                self._roll(ev.time)
                handler(ev)

    # -- what the events change -------------------------------------------------------
    def _roll(self, t: datetime) -> None:
        day = t.astimezone(self.tz).date()
        if self.day is not None and day <= self.day:
            return
        self.day = day
        self.served.clear()
        self.rated.clear()
        self.recent.clear()

    def _called(self, ev: JournaledEvent) -> None:
        d = ev.data
        self.recent.appendleft(
            {
                "ticket_no": d.get("ticket_no"),
                "counter": d.get("counter"),
                "service": d.get("service"),
                "time": ev.time.astimezone(self.tz).isoformat(timespec="seconds"),
                "_at": ev.time,
            }
        )

    def _completed(self, ev: JournaledEvent) -> None:
        counter, service_s = ev.data.get("counter"), ev.data.get("service_s")
        if isinstance(counter, int) and isinstance(service_s, int | float):
            self.served.setdefault(counter, _Tally()).add(float(service_s))

    def _rated(self, ev: JournaledEvent) -> None:
        counter, level = ev.data.get("counter"), ev.data.get("level")
        if isinstance(counter, int) and isinstance(level, int):
            self.rated.setdefault(counter, _Tally()).add(level, level >= SATISFIED_LEVEL)
            self.ratings_seen += 1
            self.dirty.add("ratings")

    def _alert(self, ev: JournaledEvent) -> None:
        d = ev.data
        key = str(ev.seq)
        self.alerts[key] = Alert(
            key,
            ev.time.astimezone(self.tz).isoformat(timespec="seconds"),
            str(d.get("rule", "")),
            str(d.get("severity", "")),
            str(d.get("message", "")),
            str(d.get("subject", "")),
        )
        while len(self.alerts) > ALERTS_MAX:
            del self.alerts[next(iter(self.alerts))]
        self.dirty.add("ops")

    def _acked(self, ev: JournaledEvent) -> None:
        alert = self.alerts.get(str(ev.data.get("alert")))
        if alert is not None:
            alert.acked, alert.acked_by = True, str(ev.data.get("by", ""))
            self.dirty.add("ops")

    # -- the sections -----------------------------------------------------------------
    def refresh(self) -> None:
        """Publish the marked sections' JSON to the live streams (unchanged ones send nothing)."""
        dirty, self.dirty = self.dirty, set()
        now = self.clock()
        # The queue and the counters both read the queue's summary: made once for both.
        summary = self._summary(now) if dirty & {"queue", "counters"} else None
        for name in SECTIONS:
            if name in dirty:
                try:
                    data = self.section_data(name, now, summary)
                    self.live.publish(name, _json.encode(data))
                except Exception:
                    log.exception("console: the %s view failed", name)

    def state(self) -> dict[str, Any]:
        now = self.clock()
        summary = self._summary(now)
        return {name: self.section_data(name, now, summary) for name in SECTIONS}

    def _summary(self, now: datetime) -> dict[str, Any] | None:
        return None if self.queue is None else self.queue.summary(now)

    def section_data(self, name: str, now: datetime, summary: dict[str, Any] | None) -> Any:
        """One section's data; `summary` is the queue's at `now` (None without a queue)."""
        if name == "hall":
            local = now.astimezone(self.tz)
            return {
                "id": self.hall_id,
                "name": self.hall_name,
                "time": local.isoformat(timespec="seconds"),
                "day": local.date().isoformat(),
            }
        if name == "queue":
            return self._queue(now, summary)
        if name == "counters":
            return self._counters(summary)
        if name == "devices":
            return self._devices()
        if name == "ratings":
            return self._ratings()
        return self._ops()

    def _queue(self, now: datetime, summary: dict[str, Any] | None) -> dict[str, Any]:
        names = {s.code: (s.name_zh, s.name_en or s.name_zh) for s in self.section.services}
        services = []
        if self.queue is not None and summary is not None:
            for s in summary["services"]:
                code = s["service"]
                services.append(
                    {
                        "service": code,
                        "name": names.get(code, (code, code))[0],
                        "name_en": names.get(code, (code, code))[1],
                        "waiting": s["waiting"],
                        "longest_wait_s": s["longest_wait_s"],
                        "open_counters": s["open_counters"],
                        "est_wait_min": s["est_wait_min"],
                        "next": self.queue.next_numbers(code, 3),
                    }
                )
        cutoff = now - timedelta(seconds=RECENT_CALLS_S)
        calls = [
            {k: v for k, v in call.items() if k != "_at"}
            for call in self.recent
            if call["_at"] >= cutoff
        ]
        return {"services": services, "recent_calls": calls}

    def _counters(self, summary: dict[str, Any] | None) -> list[dict[str, Any]]:
        if summary is None:
            return []
        names = {k.number: k.name or f"{k.number}号窗口" for k in self.section.counters}
        out = []
        for k in summary["counters"]:
            n = k["counter"]
            served, rated = self.served.get(n, _Tally()), self.rated.get(n, _Tally())
            out.append(
                {
                    "counter": n,
                    "name": names.get(n, str(n)),
                    "state": k["state"],
                    "staff_id": k["staff_id"],
                    "current": k["current"],
                    "served_today": served.count,
                    "avg_service_s": served.average(),
                    "ratings_today": {
                        "count": rated.count,
                        "avg": rated.average(),
                        "satisfied": rated.satisfied,
                    },
                }
            )
        return out

    def _devices(self) -> list[dict[str, Any]]:
        cutoff = self.sources.monotonic() - DEAD_WINDOW_S
        out = []
        for row in self.sources.devices():
            dev = self.devices.get(str(row["id"]), _Device())
            while dev.dead and dev.dead[0] < cutoff:
                dev.dead.popleft()
            since = row.get("since")
            out.append(
                {
                    **row,
                    "since": since.astimezone(self.tz).isoformat(timespec="seconds")
                    if isinstance(since, datetime)
                    else None,
                    "last_event": None
                    if dev.last_event is None
                    else dev.last_event.astimezone(self.tz).isoformat(timespec="seconds"),
                    "last_event_type": dev.last_type,
                    "health": {}
                    if dev.status is None
                    else {k: v for k, v in dev.status.items() if _health_value(v)},
                    "dead_letters_1h": len(dev.dead),
                }
            )
        return out

    def _ratings(self) -> dict[str, Any]:
        total = _Tally()
        for t in self.rated.values():
            total.count += t.count
            total.total += t.total
            total.satisfied += t.satisfied
        today = {
            "count": total.count,
            "avg": total.average(),
            "satisfied": total.satisfied,
            "satisfaction_rate": round(total.satisfied / total.count, 4) if total.count else None,
        }
        return {"today": today, **self.sources.ratings()}

    def _ops(self) -> dict[str, Any]:
        alerts = sorted(self.alerts.values(), key=lambda a: int(a.id), reverse=True)
        return {
            **self.sources.ops(),
            "alerts": [_alert_dict(a) for a in alerts],
        }


def _alert_dict(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id,
        "time": a.time,
        "kind": a.kind,
        "severity": a.severity,
        "text": a.text,
        "subject": a.subject,
        "acked": a.acked,
        "acked_by": a.acked_by,
    }


def _health_value(v: Any) -> bool:
    """A health field the console may show: a plain value, no nested data (which could hold
    anything, e.g. a camera's payload)."""
    return isinstance(v, str | int | float | bool) and not (isinstance(v, str) and len(v) > 64)
