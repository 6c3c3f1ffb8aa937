"""The facts the figures are computed from: tickets, ratings, payments, feedback.

`edge.kpi.collect` makes them from journaled events (de-duplicated, dated and joined);
`edge.kpi.figures` and `edge.kpi.reports` count them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.kpi.periods import Calendar

ISSUED = "queue.ticket.issued"
CALLED = "queue.ticket.called"
COMPLETED = "queue.ticket.completed"
ABANDONED = "queue.ticket.abandoned"
RATING_REQUESTED = "rating.requested"
RATING_SUBMITTED = "rating.submitted"
RATING_TIMED_OUT = "rating.timed_out"
KIOSK_PAYMENT = "kiosk.payment"
FEEDBACK_SUBMITTED = "feedback.submitted"
FEEDBACK_CLOSED = "feedback.closed"
COUNTER_STATE = "counter.state_changed"

# Every event type the figures are computed from (what the hub's journal reader is asked for).
KPI_EVENT_TYPES: tuple[str, ...] = (
    ISSUED,
    CALLED,
    COMPLETED,
    ABANDONED,
    RATING_REQUESTED,
    RATING_SUBMITTED,
    RATING_TIMED_OUT,
    KIOSK_PAYMENT,
    FEEDBACK_SUBMITTED,
    FEEDBACK_CLOSED,
    COUNTER_STATE,
)

UNKNOWN = "unknown"

# A rating is matched to the completion of its ticket that ended at most this long before
# it (ticket numbers repeat every day, so the match needs a time window) ...
RATING_JOIN_WINDOW_S = 6 * 3600.0
# ... allowing for this much clock skew between the rating pad and the hub.
CLOCK_SKEW_S = 300.0


@dataclass(slots=True)
class TicketOutcome:
    """A ticket of one business day that was completed or abandoned."""

    day: int
    ticket_no: str
    at: float  # POSIX instant of the outcome event
    outcome: str  # "completed", "no_show" or "left"
    service: str
    counter: str  # UNKNOWN for a customer who left before being called
    staff: str
    wait_s: float
    service_s: float  # 0 for abandoned tickets


@dataclass(slots=True)
class RatingFact:
    """A rating of one business day: a level 1-5, or None when it timed out."""

    day: int
    rating_id: str
    level: int | None
    counter: str
    staff: str
    service: str


@dataclass(slots=True)
class KioskPayment:
    day: int
    bucket: str
    ok: bool


@dataclass(slots=True)
class FeedbackFact:
    day: int
    feedback_id: str
    category: str


@dataclass(slots=True)
class Ledger:
    """The de-duplicated facts of a calendar run, ready to be tallied."""

    calendar: Calendar
    issued: dict[tuple[int, str], str] = field(default_factory=dict)  # (day, ticket) -> service
    outcomes: list[TicketOutcome] = field(default_factory=list)
    ratings: list[RatingFact] = field(default_factory=list)
    kiosk_payments: list[KioskPayment] = field(default_factory=list)
    feedback: list[FeedbackFact] = field(default_factory=list)
    closed_at: dict[str, float] = field(default_factory=dict)  # feedback id -> first close
    open_days: dict[str, set[int]] = field(default_factory=dict)  # counter -> days opened
