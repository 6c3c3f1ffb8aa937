"""Durations ("10m", "1h30m") and schedules ("daily 18:00", "every 5m") in the hall's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)\s*([smhd]))", re.I)
_DURATION_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[smhd]\s*)+$", re.I)
_DAILY = re.compile(r"^(daily|weekdays)\s+([01]?\d|2[0-3]):([0-5]\d)$", re.I)
_EVERY = re.compile(r"^every\s+(.+)$", re.I)


def parse_duration(value: str | int | float) -> float:
    """Seconds in "90s", "10m", "1h30m", "1d" or a plain number of seconds; ValueError if not."""
    if isinstance(value, bool):
        raise ValueError("a duration like 90s, 10m, 1h or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            if not _DURATION_WHOLE.match(text):
                raise ValueError("a duration like 90s, 10m, 1h30m or a number of seconds") from None
            seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION.findall(text))
    if seconds <= 0:
        raise ValueError("a duration above zero")
    return seconds


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a scheduled rule fires: at a wall-clock time each (week)day, or every N seconds."""

    text: str
    at: time | None = None  # daily/weekdays
    weekdays_only: bool = False
    every_s: float | None = None

    def next_after(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The first firing strictly after `now` (an aware datetime)."""
        if self.every_s is not None:
            # Aligned on the hall's midnight so "every 15m" fires at :00, :15, :30, :45.
            local = now.astimezone(tz)
            midnight = datetime.combine(local.date(), time(0), tzinfo=tz)
            elapsed = (local - midnight).total_seconds()
            steps = int(elapsed // self.every_s) + 1
            return midnight + timedelta(seconds=steps * self.every_s)
        assert self.at is not None
        local = now.astimezone(tz)
        day = local.date()
        for _ in range(8):
            candidate = datetime.combine(day, self.at, tzinfo=tz)
            if candidate > local and not (self.weekdays_only and candidate.weekday() >= 5):
                return candidate
            day += timedelta(days=1)
        raise AssertionError("unreachable: a weekday exists within 8 days")

    @property
    def grace_s(self) -> float:
        """How late a missed firing may still run (after a restart); later ones are skipped."""
        return min(self.every_s or 900.0, 900.0)


def parse_schedule(text: str) -> Schedule:
    """`daily HH:MM`, `weekdays HH:MM` or `every DURATION`; ValueError otherwise."""
    clean = " ".join(text.split())
    if m := _DAILY.match(clean):
        at = time(int(m.group(2)), int(m.group(3)))
        return Schedule(text=clean, at=at, weekdays_only=m.group(1).lower() == "weekdays")
    if m := _EVERY.match(clean):
        every = parse_duration(m.group(1))
        if every < 1:
            raise ValueError("an interval of at least 1s")
        return Schedule(text=clean, every_s=every)
    raise ValueError('a schedule like "daily 18:00", "weekdays 08:30" or "every 5m"')
