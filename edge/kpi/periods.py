"""Days and months of the hall's calendar: parsing, and instants of local midnights.

Every figure is dated in the hall's time zone. A `Calendar` holds the UTC instants of the
local midnights of a run of days, so dating an event is one bisection of a float instead
of a time-zone conversion per event (and it stays right across DST changes).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_day(text: str) -> date | None:
    """`"2026-11-27"` -> date; None when the text is not a valid YYYY-MM-DD day."""
    if not _DAY.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_month(text: str) -> date | None:
    """`"2026-11"` -> the month's first day; None when the text is not a valid YYYY-MM."""
    m = _MONTH.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        return None
    return date(int(m.group(1)), int(m.group(2)), 1)


def month_key(day: date) -> str:
    """The `YYYY-MM` of a day."""
    return f"{day.year:04d}-{day.month:02d}"


def next_month(first: date) -> date:
    """The first day of the month after the one `first` is in."""
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)


def previous_month(first: date) -> date:
    """The first day of the month before the one `first` is in."""
    return date(first.year - 1, 12, 1) if first.month == 1 else date(first.year, first.month - 1, 1)


def month_days(first: date) -> list[date]:
    """Every day of the month that starts at `first`."""
    end = next_month(first)
    return [first + timedelta(days=i) for i in range((end - first).days)]


def local_instant(day: date, at: time, tz: tzinfo) -> datetime:
    """The aware instant of a wall-clock time on a day in the hall's time zone."""
    return datetime.combine(day, at, tzinfo=tz)


def day_start(day: date, tz: tzinfo) -> datetime:
    """Local midnight at the start of `day`, as an aware datetime."""
    return local_instant(day, time(0), tz)


def as_aware(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC (the journal stores aware times; this is a guard)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class Calendar:
    """A run of consecutive local days; tells which of them an instant falls on."""

    __slots__ = ("_bounds", "days")

    def __init__(self, days: Sequence[date], tz: tzinfo) -> None:
        if not days:
            raise ValueError("a calendar needs at least one day")
        self.days: tuple[date, ...] = tuple(days)
        first = self.days[0]
        self._bounds = [
            day_start(first + timedelta(days=i), tz).timestamp() for i in range(len(days) + 1)
        ]

    @property
    def bounds(self) -> list[float]:
        """POSIX instants of the local midnights: day i is [bounds[i], bounds[i + 1])."""
        return self._bounds

    @property
    def start(self) -> float:
        """POSIX instant of the first local midnight."""
        return self._bounds[0]

    @property
    def end(self) -> float:
        """POSIX instant of the local midnight after the last day (exclusive)."""
        return self._bounds[-1]

    def index(self, instant: float) -> int:
        """Index of the day `instant` (POSIX seconds) falls on, or -1 outside the run."""
        if instant < self._bounds[0] or instant >= self._bounds[-1]:
            return -1
        return bisect_right(self._bounds, instant) - 1

    def day_end(self, index: int) -> float:
        """POSIX instant of the local midnight that ends day `index` (exclusive)."""
        return self._bounds[index + 1]
