"""The queue state of one business day, and `apply`, the only way it changes.

The state is a pure fold of the result events (catalogue.RESULT_TYPES): applied live right
after each decision, and again from the journal after a restart. `apply` reads nothing but
the event (its type, data, time and causation), so both paths give equal states, which
`QueueState.snapshot()` makes comparable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from edge.queue import catalogue as c
from edge.queue.hall_time import instant


class Fact(Protocol):
    """What apply needs of an event: Event (live) and JournaledEvent (rebuild) both fit."""

    @property
    def type(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def causation(self) -> int | None: ...


@dataclass(slots=True)
class Ticket:
    """An issued ticket that has not ended yet (waiting, or called to a counter)."""

    ticket_no: str
    number: int
    service: str  # the queue it waits in now: a transfer to a service changes it
    priority: str
    channel: str
    request_id: str
    issued_at: datetime
    order: int  # issue order of the day, breaks ties between equal times
    counter: int | None = None  # the counter it is called to
    target_counter: int | None = None  # transferred to this counter, waits for it alone
    call_no: int = 0
    first_called_at: datetime | None = None
    last_called_at: datetime | None = None

    @property
    def waiting(self) -> bool:
        return self.counter is None

    def sort_key(self) -> tuple[datetime, int]:
        return (self.issued_at, self.order)


@dataclass(slots=True)
class Counter:
    """What the queue knows of a counter today."""

    number: int
    state: str = c.CLOSED_STATE
    staff_id: str = ""
    current: str | None = None  # ticket called to it and not yet ended or transferred
    presses: dict[str, datetime] = field(default_factory=dict)  # recent press_id -> when
    recent_services: deque[str] = field(default_factory=deque)


@dataclass(slots=True)
class PendingRating:
    rating_id: str
    counter: int
    staff_id: str
    ticket_no: str
    service: str
    deadline: datetime


@dataclass(slots=True)
class QueueState:
    """Everything the queue decides from; rebuilt from the day's journal after a restart."""

    window: int  # how many recent service times / calls the estimates look at
    day: date | None = None
    last_number: dict[str, int] = field(default_factory=dict)
    issued: int = 0
    tickets: dict[str, Ticket] = field(default_factory=dict)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # request_id -> print args
    streak: dict[str, int] = field(default_factory=dict)  # priority calls in a row per service
    counters: dict[int, Counter] = field(default_factory=dict)
    ratings: dict[str, PendingRating] = field(default_factory=dict)
    service_times: dict[str, deque[float]] = field(default_factory=dict)
    status_sent: dict[str, tuple[datetime, tuple[Any, ...]]] = field(default_factory=dict)
    last_causation: int = 0  # highest input seq answered by a result

    def counter(self, number: int) -> Counter:
        """The counter's state; a counter not seen today is closed (nothing is stored)."""
        return self.counters.get(number) or Counter(number)

    def snapshot(self) -> dict[str, Any]:
        """A plain, comparable picture of the whole state."""
        return {
            "day": None if self.day is None else self.day.isoformat(),
            "last_number": dict(sorted(self.last_number.items())),
            "issued": self.issued,
            "tickets": {k: _plain(t) for k, t in sorted(self.tickets.items())},
            "requests": {k: dict(v) for k, v in sorted(self.requests.items())},
            "streak": dict(sorted(self.streak.items())),
            "counters": {k: _plain(v) for k, v in sorted(self.counters.items())},
            "ratings": {k: _plain(v) for k, v in sorted(self.ratings.items())},
            "service_times": {k: list(v) for k, v in sorted(self.service_times.items())},
            "status_sent": {
                k: [v[0].isoformat(), list(v[1])] for k, v in sorted(self.status_sent.items())
            },
            "last_causation": self.last_causation,
        }


def _plain(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj.__slots__:
        value = getattr(obj, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, deque):
            value = list(value)
        elif isinstance(value, dict):
            value = {k: v.isoformat() for k, v in value.items()}
        out[name] = value
    return out


def apply(state: QueueState, event: Fact) -> None:
    """Fold one result event into the state; other event types leave it unchanged."""
    handler = _HANDLERS.get(event.type)
    if handler is None:
        return
    if event.time is None:
        raise ValueError(f"{event.type} without a time cannot be applied")
    at = instant(event.time)
    data = event.data
    handler(state, data, at)
    if event.causation is not None and event.causation > state.last_causation:
        state.last_causation = event.causation
    press = data.get("press_id")
    counter = data.get("counter", data.get("from_counter"))
    if press is not None and isinstance(counter, int) and counter in state.counters:
        _remember_press(state.counters[counter], str(press), at)


_PRESSES_KEPT = 4  # a duplicate arrives within seconds, a few other presses at most between


def _remember_press(counter: Counter, press_id: str, at: datetime) -> None:
    counter.presses.pop(press_id, None)
    counter.presses[press_id] = at
    while len(counter.presses) > _PRESSES_KEPT:
        del counter.presses[next(iter(counter.presses))]


def _counter(state: QueueState, number: int) -> Counter:
    found = state.counters.get(number)
    if found is None:
        found = state.counters[number] = Counter(number, recent_services=deque(maxlen=state.window))
    return found


def _day_started(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    # A new business day forgets everything of the previous one: numbering starts at 1 and
    # a rebuild needs only the events from this one on.
    fresh = QueueState(window=state.window, day=date.fromisoformat(data["day"]))
    fresh.last_causation = state.last_causation
    for name in QueueState.__slots__:
        setattr(state, name, getattr(fresh, name))


def _issued(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    service = data["service"]
    state.issued += 1
    state.tickets[data["ticket_no"]] = Ticket(
        ticket_no=data["ticket_no"],
        number=data["number"],
        service=service,
        priority=data["priority"],
        channel=data["channel"],
        request_id=data["request_id"],
        issued_at=at,
        order=state.issued,
    )
    state.last_number[service] = max(state.last_number.get(service, 0), data["number"])
    state.requests[data["request_id"]] = {
        k: data[k] for k in ("ticket_no", "service", "waiting_ahead", "est_wait_min", "issued_at")
    }


def _called(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    ticket = state.tickets.get(data["ticket_no"])
    if ticket is None:
        return
    counter = _counter(state, data["counter"])
    ticket.counter = counter.number
    ticket.target_counter = None
    ticket.call_no = data["call_no"]
    ticket.last_called_at = at
    if ticket.first_called_at is None:
        ticket.first_called_at = at
    counter.current = ticket.ticket_no
    if data["call_no"] == 1:
        counter.recent_services.append(ticket.service)
        lane = data.get("lane")
        if lane == c.PRIORITY_LANE:
            state.streak[ticket.service] = state.streak.get(ticket.service, 0) + 1
        elif lane == c.NORMAL_LANE:
            state.streak[ticket.service] = 0


def _release(state: QueueState, ticket: Ticket) -> None:
    if ticket.counter is not None:
        counter = state.counters.get(ticket.counter)
        if counter is not None and counter.current == ticket.ticket_no:
            counter.current = None
    ticket.counter = None


def _transferred(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    ticket = state.tickets.get(data["ticket_no"])
    if ticket is None:
        return
    _release(state, ticket)
    ticket.service = data["service"]
    ticket.target_counter = data.get("to_counter")
    ticket.call_no = 0


def _ended(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    ticket = state.tickets.pop(data["ticket_no"], None)
    if ticket is not None:
        _release(state, ticket)


def _completed(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    _ended(state, data, at)
    times = state.service_times.get(data["service"])
    if times is None:
        times = state.service_times[data["service"]] = deque(maxlen=state.window)
    times.append(float(data["service_s"]))


def _state_changed(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    counter = _counter(state, data["counter"])
    counter.state = data["state"]
    counter.staff_id = data.get("staff_id") or ""


def _rating_requested(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    state.ratings[data["rating_id"]] = PendingRating(
        rating_id=data["rating_id"],
        counter=data["counter"],
        staff_id=data.get("staff_id") or "",
        ticket_no=data["ticket_no"],
        service=data["service"],
        deadline=at + timedelta(seconds=float(data["timeout_s"])),
    )


def _rating_ended(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    state.ratings.pop(data["rating_id"], None)


def _status(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    state.status_sent[data["service"]] = (at, status_key(data))


def status_key(summary: Mapping[str, Any]) -> tuple[Any, ...]:
    """What makes a queue.status summary 'changed' (the longest wait grows every second)."""
    return (summary["waiting"], summary["open_counters"], summary["oldest_ticket"])


def _refused(state: QueueState, data: Mapping[str, Any], at: datetime) -> None:
    """A refusal changes nothing; it only answers its request."""


_HANDLERS = {
    c.DAY_STARTED: _day_started,
    c.TICKET_ISSUED: _issued,
    c.TICKET_REFUSED: _refused,
    c.TICKET_CALLED: _called,
    c.TICKET_TRANSFERRED: _transferred,
    c.TICKET_COMPLETED: _completed,
    c.TICKET_ABANDONED: _ended,
    c.COUNTER_STATE_CHANGED: _state_changed,
    c.RATING_REQUESTED: _rating_requested,
    c.RATING_RECEIVED: _rating_ended,
    c.RATING_TIMED_OUT: _rating_ended,
    c.QUEUE_STATUS: _status,
}
