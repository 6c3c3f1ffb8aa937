"""The month's race for the model counter (标兵窗口): each counter's month-to-date
satisfaction day by day, and the ranking by the rule of docs/kpi.md.

Runs on the KPI part's thread (it reads the journal). A past day's figures do not change
once the day is over, so each is read once per month; today's are read on every refresh.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.kpi import KpiSection
from edge.kpi import KpiService, choose_model_window
from edge.kpi.model_window import standings

Day = dict[str, tuple[int, int]]  # counter → (satisfied, rated) of one day


class MonthRace:
    def __init__(self, kpi: KpiService, section: KpiSection, tz: ZoneInfo) -> None:
        self.kpi, self.section, self.tz = kpi, section, tz
        self._days: dict[date, Day] = {}

    def compute(self, now: datetime) -> dict[str, Any]:
        today = now.astimezone(self.tz).date()
        first = today.replace(day=1)
        self._days = {d: v for d, v in self._days.items() if d >= first}
        days = [first + timedelta(days=i) for i in range(today.day)]
        totals: dict[str, list[int]] = {}
        scores: dict[str, list[float | None]] = {}
        for i, d in enumerate(days):
            for counter, (satisfied, rated) in self._day(d, today).items():
                t = totals.setdefault(counter, [0, 0])
                t[0] += satisfied
                t[1] += rated
                scores.setdefault(counter, [None] * len(days))
            for counter, (satisfied, rated) in totals.items():
                scores[counter][i] = round(satisfied / rated, 4) if rated else None
        month = f"{today.year:04d}-{today.month:02d}"
        report = self.kpi.month_report(month)
        window = choose_model_window(report, self.section)
        return {
            "month": month,
            "race": {
                "days": [d.isoformat() for d in days],
                "counters": [
                    {"counter": k, "scores": v} for k, v in sorted(scores.items(), key=_counter_key)
                ],
            },
            "ranking": [
                {
                    "rank": s.rank,
                    "counter": s.counter,
                    "eligible": s.eligible,
                    "rated": s.rated,
                    "satisfaction_rate": s.satisfaction_rate,
                    "avg_level": s.avg_level,
                    "completed": s.completed,
                }
                for s in standings(report, self.section)
            ],
            "model_counter": None if window is None else window.counter,
            "min_ratings": self.section.min_ratings,
        }

    def _day(self, d: date, today: date) -> Day:
        cached = self._days.get(d)
        if cached is not None:
            return cached
        report = self.kpi.day_report(d)
        day = {f.key: (f.satisfied, f.rated) for f in report.counters if f.rated}
        if d < today:
            self._days[d] = day
        return day


def _counter_key(item: tuple[str, Any]) -> tuple[int, str]:
    key = item[0]
    return (int(key), key) if key.isdigit() else (1 << 30, key)
