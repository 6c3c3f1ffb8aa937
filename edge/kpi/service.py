"""The KPI service: daily report at closing time, model counter when a month closes.

The journal is the source of every figure: the service keeps no counts of its own, it
asks the hub's journal reader for the events of the period and computes the report, so a
restart, a late event or a re-sent one never leaves it with a wrong total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from edge.config.kpi import KpiSection
from edge.errors import CommandError
from edge.kpi.facts import KPI_EVENT_TYPES
from edge.kpi.model_window import choose_model_window, model_window_data
from edge.kpi.periods import (
    day_start,
    local_instant,
    month_key,
    next_month,
    parse_day,
    parse_month,
    previous_month,
)
from edge.kpi.reports import DayReport, MonthReport, day_report, month_report
from edge.model import BAD_ARGS, HUB_DEVICE, Event, JournaledEvent, Output

KPI_DAILY = "kpi.daily"
KPI_MODEL_WINDOW = "kpi.model_window"
MONTH_CLOSED = "month_closed"
ON_DEMAND = "on_demand"

# Events are read this far past a period's last midnight, so that tickets issued before
# it and completed after it (and their ratings) are counted on the day they were issued.
CROSS_MIDNIGHT_TAIL = timedelta(hours=12)

# The hub's journal reader: events whose event time is in [start, end), of these types.
ReadEvents = Callable[[datetime, datetime, Sequence[str]], Iterable[JournaledEvent]]


def _has_activity(report: DayReport | MonthReport) -> bool:
    """False for a period with nothing in the journal (a closed day, a fresh install)."""
    hall = report.hall
    fb = report.feedback
    return bool(
        hall.issued
        or hall.completed
        or hall.abandoned
        or hall.rated
        or hall.timed_out
        or report.payments.total
        or report.payments.kiosk_failed
        or fb.complaints + fb.suggestions + fb.praise + fb.other
    )


class KpiService:
    """Service figures of the hall (hub Service protocol); see docs/kpi.md."""

    name = "kpi"

    def __init__(self, section: KpiSection, hall_tz: tzinfo, read_events: ReadEvents) -> None:
        self.section = section
        self.tz = hall_tz
        self.read_events = read_events
        # Periods already published (or found published in the journal), so that a tick
        # every second costs two comparisons and the journal is asked once per period.
        self._daily_done: date | None = None
        self._model_done: date | None = None  # first day of the month already published

    # -- Service protocol -------------------------------------------------------------

    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        """Nothing to do per event; notes KPI events already journaled (e.g. on replay)."""
        if event.type == KPI_DAILY:
            day = parse_day(str(event.data.get("day", "")))
            if day is not None and (self._daily_done is None or day > self._daily_done):
                self._daily_done = day
        elif event.type == KPI_MODEL_WINDOW and event.data.get("trigger") == MONTH_CLOSED:
            first = parse_month(str(event.data.get("month", "")))
            if first is not None and (self._model_done is None or first > self._model_done):
                self._model_done = first
        return ()

    def tick(self, now: datetime) -> Sequence[Output]:
        """`kpi.daily` once the closing time passed today; `kpi.model_window` once a month."""
        if not self.section.enabled:
            return ()
        out: list[Output] = []
        today = now.astimezone(self.tz).date()
        if (self._daily_done is None or self._daily_done < today) and now >= local_instant(
            today, self.section.closing, self.tz
        ):
            if not self._published(KPI_DAILY, today, today + timedelta(days=1), today.isoformat()):
                report = self.day_report(today)
                if _has_activity(report):
                    out.append(Event(KPI_DAILY, HUB_DEVICE, report.to_dict(), time=now))
            self._daily_done = today
        this_month = today.replace(day=1)
        last_month = previous_month(this_month)
        if (self._model_done is None or self._model_done < last_month) and now >= local_instant(
            this_month, self.section.model_window_time, self.tz
        ):
            key = month_key(last_month)
            if not self._published(KPI_MODEL_WINDOW, this_month, next_month(this_month), key):
                month = self.month_report(key)
                if _has_activity(month):
                    data = model_window_data(month, self.section, MONTH_CLOSED)
                    out.append(Event(KPI_MODEL_WINDOW, HUB_DEVICE, data, time=now))
            self._model_done = last_month
        return out

    # -- hub command and on-demand publication --------------------------------------

    def report(self, day: str | None = None, month: str | None = None) -> dict[str, Any]:
        """The `kpi.report` command: {"day": "2026-11-27"} or {"month": "2026-11"}.

        Raises CommandError(400) unless exactly one valid period is given. A month's report
        carries its `model_window` (None when no counter qualified).
        """
        if (day is None) == (month is None):
            raise CommandError(BAD_ARGS, "give exactly one of day (YYYY-MM-DD) or month (YYYY-MM)")
        if day is not None:
            return self.day_report(self.day_arg(day)).to_dict()
        assert month is not None
        report = self.month_report(month)
        window = choose_model_window(report, self.section)
        return {**report.to_dict(), "model_window": None if window is None else window.to_dict()}

    def model_window_event(self, month: str) -> Event:
        """A `kpi.model_window` event for any month, published on demand (trigger on_demand)."""
        report = self.month_report(month)
        data = model_window_data(report, self.section, ON_DEMAND)
        return Event(KPI_MODEL_WINDOW, HUB_DEVICE, data)

    def day_report(self, day: date) -> DayReport:
        """The report of one hall day, read from the journal."""
        start = day_start(day, self.tz)
        end = day_start(day + timedelta(days=1), self.tz) + CROSS_MIDNIGHT_TAIL
        return day_report(self.read_events(start, end, KPI_EVENT_TYPES), day, self.tz, self.section)

    def month_report(self, month: str) -> MonthReport:
        """The report of one month (`YYYY-MM`), read from the journal."""
        first = self.month_arg(month)
        start = day_start(first, self.tz)
        end = day_start(next_month(first), self.tz) + CROSS_MIDNIGHT_TAIL
        events = self.read_events(start, end, KPI_EVENT_TYPES)
        return month_report(events, month_key(first), self.tz, self.section)

    # -- helpers ----------------------------------------------------------------------

    def _published(self, kind: str, first: date, end: date, period: str) -> bool:
        """Is a scheduled `kind` event for `period` already in the journal between the days?"""
        events = self.read_events(day_start(first, self.tz), day_start(end, self.tz), (kind,))
        for ev in events:
            if ev.type != kind:
                continue
            if kind == KPI_DAILY:
                if ev.data.get("day") == period:
                    return True
            elif ev.data.get("month") == period and ev.data.get("trigger") == MONTH_CLOSED:
                return True
        return False

    @staticmethod
    def day_arg(value: object) -> date:
        """A `day` argument as a date; CommandError(400) unless it is a valid YYYY-MM-DD."""
        day = parse_day(value) if isinstance(value, str) else None
        if day is None:
            raise CommandError(BAD_ARGS, f"day must be a date YYYY-MM-DD, not {value!r}")
        return day

    @staticmethod
    def month_arg(value: object) -> date:
        """A `month` argument as its first day; CommandError(400) unless it is YYYY-MM."""
        first = parse_month(value) if isinstance(value, str) else None
        if first is None:
            raise CommandError(BAD_ARGS, f"month must be YYYY-MM, not {value!r}")
        return first
