"""Hall clock arithmetic: business days, opening hours, millisecond instants.

Every instant the queue keeps is cut to whole milliseconds in UTC, the precision of the
journal's envelope `time`: the state built live from a result event and the state rebuilt
from its journaled copy then hold the very same instants.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge.config.queue import OpeningHours, clock_time


def instant(t: datetime) -> datetime:
    """`t` in UTC, cut to milliseconds; a naive time is taken as UTC."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    t = t.astimezone(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def hall_iso(t: datetime, tz: ZoneInfo) -> str:
    """RFC 3339 text in hall time with milliseconds, as tickets and screens show it."""
    return t.astimezone(tz).isoformat(timespec="milliseconds")


def seconds(later: datetime, earlier: datetime) -> int:
    """Whole seconds from `earlier` to `later`, never negative (device clocks may disagree)."""
    return max(0, round((later - earlier).total_seconds()))


class HallClock:
    """Business days and opening hours of one hall."""

    def __init__(self, tz: ZoneInfo, reset_at: str, hours: OpeningHours) -> None:
        self.tz = tz
        self._reset = clock_time(reset_at)
        self._reset_delta = timedelta(hours=self._reset.hour, minutes=self._reset.minute)
        self._open = clock_time(hours.open)
        self._last = clock_time(hours.last_ticket or hours.close)
        self._days = frozenset(hours.days)

    def business_day(self, t: datetime) -> date:
        """The day whose ticket numbering `t` belongs to (days turn at the reset time)."""
        return (t.astimezone(self.tz) - self._reset_delta).date()

    def day_start(self, t: datetime) -> datetime:
        """The instant of the last daily reset at or before `t`."""
        day = self.business_day(t)
        return datetime.combine(day, time(0), tzinfo=self.tz) + self._reset_delta

    def issuing(self, t: datetime) -> bool:
        """True when tickets may be issued at `t`: an opening day, from opening to last ticket."""
        local = t.astimezone(self.tz)
        return local.isoweekday() in self._days and self._open <= local.time() < self._last
