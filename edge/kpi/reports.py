"""Day and month reports: pure functions of journaled events, frozen results."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, tzinfo
from typing import Any, ClassVar

import msgspec

from edge.config.kpi import KpiSection
from edge.kpi.collect import collect
from edge.kpi.facts import (
    UNKNOWN,
    FeedbackFact,
    KioskPayment,
    Ledger,
    RatingFact,
    TicketOutcome,
)
from edge.kpi.figures import (
    FeedbackCounts,
    Figures,
    PaymentMix,
    feedback_counts,
    figures_of,
    merit_key,
    payment_mix,
)
from edge.kpi.periods import Calendar, month_days, month_key, parse_month
from edge.model import JournaledEvent


class DayRow(msgspec.Struct, frozen=True, kw_only=True):
    """One day of a month report: the hall's figures, payment mix and feedback."""

    day: date
    hall: Figures
    payments: PaymentMix
    feedback: FeedbackCounts


class _Report(msgspec.Struct, frozen=True, kw_only=True):
    """The figures a day and a month report both have; `period` names the report's own field
    (its `day` or `month`)."""

    period: ClassVar[str]
    timezone: str
    hall: Figures
    counters: tuple[Figures, ...]
    staff: tuple[Figures, ...]
    services: tuple[Figures, ...]
    payments: PaymentMix
    feedback: FeedbackCounts

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (days as YYYY-MM-DD), the period and its day or month first."""
        out: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(self))
        return {"period": self.period, self.period: out.pop(self.period), **out}


class DayReport(_Report, frozen=True, kw_only=True):
    """Every figure of one hall day. Counters and staff are ranked by the model-counter rule.

    Its dict is the `kpi.daily` event's data.
    """

    period: ClassVar[str] = "day"
    day: date


class MonthReport(_Report, frozen=True, kw_only=True):
    """Every figure of one hall month, with one row per day."""

    period: ClassVar[str] = "month"
    month: str
    days: tuple[DayRow, ...]


def zone_name(tz: tzinfo) -> str:
    """The IANA name of a ZoneInfo, else whatever the tzinfo calls itself."""
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else str(tz)


class _Groups:
    """The facts of one calendar run sorted into groups: per day, counter, staff, service."""

    def __init__(self, ledger: Ledger, section: KpiSection) -> None:
        n_days = len(ledger.calendar.days)
        self.ledger = ledger
        self.section = section
        self.day_outcomes: list[list[TicketOutcome]] = [[] for _ in range(n_days)]
        self.day_ratings: list[list[RatingFact]] = [[] for _ in range(n_days)]
        self.day_issued = [0] * n_days
        self.counter_payments = [0] * n_days
        self.outcomes: dict[str, dict[str, list[TicketOutcome]]] = {}
        self.ratings: dict[str, dict[str, list[RatingFact]]] = {}
        self.service_issued: dict[str, int] = {}
        for (day, _ticket), service in ledger.issued.items():
            self.day_issued[day] += 1
            self.service_issued[service] = self.service_issued.get(service, 0) + 1
        pay_services = frozenset(section.counter_payment_services)
        by_counter: defaultdict[str, list[TicketOutcome]] = defaultdict(list)
        for counter in ledger.open_days:  # an idle open counter still gets its row
            by_counter[counter] = []
        by_staff: defaultdict[str, list[TicketOutcome]] = defaultdict(list)
        by_service: defaultdict[str, list[TicketOutcome]] = defaultdict(list)
        day_outcomes = self.day_outcomes
        for t in ledger.outcomes:
            day_outcomes[t.day].append(t)
            by_service[t.service].append(t)
            # A customer who left before any call was never at a counter.
            if t.counter != UNKNOWN or t.outcome == "completed":
                by_counter[t.counter].append(t)
                by_staff[t.staff].append(t)
            if t.outcome == "completed" and t.service in pay_services:
                self.counter_payments[t.day] += 1
        r_counter: defaultdict[str, list[RatingFact]] = defaultdict(list)
        r_staff: defaultdict[str, list[RatingFact]] = defaultdict(list)
        r_service: defaultdict[str, list[RatingFact]] = defaultdict(list)
        day_ratings = self.day_ratings
        for r in ledger.ratings:
            day_ratings[r.day].append(r)
            r_counter[r.counter].append(r)
            r_staff[r.staff].append(r)
            r_service[r.service].append(r)
        self.outcomes = {"counter": by_counter, "staff": by_staff, "service": by_service}
        self.ratings = {"counter": r_counter, "staff": r_staff, "service": r_service}

    def _group(self, dimension: str, members: str) -> list[Figures]:
        outcomes, ratings = self.outcomes[dimension], self.ratings[dimension]
        issued = self.service_issued if dimension == "service" else None
        return [
            figures_of(
                key,
                outcomes.get(key, ()),
                ratings.get(key, ()),
                issued=None if issued is None else issued.get(key, 0),
                section=self.section,
                members=members,
            )
            for key in outcomes.keys() | ratings.keys() | (issued or {}).keys()
        ]

    def hall(self) -> Figures:
        return figures_of(
            "hall",
            self.ledger.outcomes,
            self.ledger.ratings,
            issued=len(self.ledger.issued),
            section=self.section,
        )

    def day(self, i: int) -> Figures:
        day = self.ledger.calendar.days[i]
        return figures_of(
            day.isoformat(),
            self.day_outcomes[i],
            self.day_ratings[i],
            issued=self.day_issued[i],
            section=self.section,
        )

    def counters(self) -> tuple[Figures, ...]:
        """Counters by the model-counter rule."""
        return tuple(sorted(self._group("counter", "staff"), key=merit_key))

    def staff(self) -> tuple[Figures, ...]:
        """Staff members by the same rule."""
        return tuple(sorted(self._group("staff", "counter"), key=merit_key))

    def services(self) -> tuple[Figures, ...]:
        """Services in the order of the configured norms, then by code."""
        known = {code: i for i, code in enumerate(self.section.norms_min)}
        figures = self._group("service", "")
        return tuple(sorted(figures, key=lambda f: (known.get(f.key, len(known)), f.key)))


def _common(
    events: Iterable[JournaledEvent], days: list[date], tz: tzinfo, section: KpiSection
) -> tuple[Ledger, _Groups]:
    calendar = Calendar(days, tz)
    ledger = collect(events, calendar, section)
    return ledger, _Groups(ledger, section)


def day_report(
    events: Iterable[JournaledEvent], day: date, tz: tzinfo, section: KpiSection
) -> DayReport:
    """The figures of one hall-local day from journaled events (others are ignored).

    Give it the events from the day's local midnight to a few hours past the next one, so
    that tickets issued late and completed after midnight are complete.
    """
    ledger, groups = _common(events, [day], tz, section)
    return DayReport(
        day=day,
        timezone=zone_name(tz),
        hall=groups.hall(),
        counters=groups.counters(),
        staff=groups.staff(),
        services=groups.services(),
        payments=payment_mix(groups.counter_payments[0], ledger.kiosk_payments, section),
        feedback=feedback_counts(ledger.feedback, ledger.closed_at, ledger.calendar.end),
    )


def month_report(
    events: Iterable[JournaledEvent], month: str, tz: tzinfo, section: KpiSection
) -> MonthReport:
    """The figures of one month (`"2026-11"`) and of each of its days, from journaled events."""
    first = parse_month(month)
    if first is None:
        raise ValueError(f"a month as YYYY-MM, not {month!r}")
    days = month_days(first)
    ledger, groups = _common(events, days, tz, section)
    cal = ledger.calendar
    kiosk_by_day: list[list[KioskPayment]] = [[] for _ in days]
    for p in ledger.kiosk_payments:
        kiosk_by_day[p.day].append(p)
    feedback_by_day: list[list[FeedbackFact]] = [[] for _ in days]
    for f in ledger.feedback:
        feedback_by_day[f.day].append(f)
    rows = tuple(
        DayRow(
            day=d,
            hall=groups.day(i),
            payments=payment_mix(groups.counter_payments[i], kiosk_by_day[i], section),
            feedback=feedback_counts(feedback_by_day[i], ledger.closed_at, cal.day_end(i)),
        )
        for i, d in enumerate(days)
    )
    return MonthReport(
        month=month_key(first),
        timezone=zone_name(tz),
        hall=groups.hall(),
        counters=groups.counters(),
        staff=groups.staff(),
        services=groups.services(),
        payments=payment_mix(sum(groups.counter_payments), ledger.kiosk_payments, section),
        feedback=feedback_counts(ledger.feedback, ledger.closed_at, cal.end),
        days=rows,
    )
