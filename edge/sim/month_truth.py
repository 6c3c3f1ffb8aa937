"""What really happened in a generated hall month (edge/sim/month.py): the truth the KPI
tests compute from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from edge.model import JournaledEvent


@dataclass
class TicketTruth:
    day: date  # business day: the day it was issued
    ticket_no: str
    service: str
    issued_at: datetime
    outcome: str  # completed, no_show, left
    wait_s: int
    service_s: int = 0
    counter: str = ""  # for a no-show: the counter that called it
    staff: str = ""
    rating_id: str = ""
    rating: int | None = None  # level 1-5
    rating_timed_out: bool = False  # timed out and never rated


@dataclass
class PaymentTruth:
    day: date
    channel: str
    result: str


@dataclass
class FeedbackTruth:
    feedback_id: str
    day: date
    category: str
    at: datetime
    closed_at: datetime | None


@dataclass
class HallMonth:
    month: str
    first: date
    days: list[date]
    counters: list[str]
    tickets: list[TicketTruth] = field(default_factory=list)
    payments: list[PaymentTruth] = field(default_factory=list)
    feedback: list[FeedbackTruth] = field(default_factory=list)
    events: list[JournaledEvent] = field(default_factory=list)
    closed_counter: str = ""
    closed_from: date | None = None
