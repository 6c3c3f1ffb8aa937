"""The model counter of the month (标兵窗口).

Rule (docs/kpi.md): among counters with at least `min_ratings` ratings in the month, the
highest satisfaction rate wins; equal rates go to the higher average level, then to the
higher volume (completed tickets). Counters equal on all three share the title: every
one of them is a model counter, listed by counter id, and the first is `counter`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from edge.config.kpi import KpiSection
from edge.kpi.figures import Figures, merit_key
from edge.kpi.reports import MonthReport


class Standing(msgspec.Struct, frozen=True, kw_only=True):
    """One counter's place in the month's ranking."""

    rank: int  # 1 = best; equal figures share a rank
    counter: str
    eligible: bool  # reached min_ratings
    rated: int
    satisfaction_rate: float | None
    avg_level: float | None
    completed: int


class ModelWindow(msgspec.Struct, frozen=True, kw_only=True):
    """The month's model counter(s) and the standings it was chosen from."""

    month: str
    counters: tuple[str, ...]  # more than one only on an exact tie
    staff: tuple[str, ...]  # who served at the model counter(s), most tickets first
    satisfaction_rate: float
    avg_level: float
    rated: int
    completed: int
    min_ratings: int
    standings: tuple[Standing, ...]

    @property
    def counter(self) -> str:
        """The (first) model counter."""
        return self.counters[0]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        out: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(self))
        return {"counter": self.counter, **out}


def _merit(f: Figures) -> tuple[Any, ...]:
    return merit_key(f)[:4]  # without the counter id: equal merit means a tie


def standings(report: MonthReport, section: KpiSection) -> tuple[Standing, ...]:
    """Every counter of the month by the rule: eligible counters first, ranks shared on ties."""
    eligible = [f for f in report.counters if f.rated >= section.min_ratings]
    others = [f for f in report.counters if f.rated < section.min_ratings]
    out: list[Standing] = []
    for is_eligible, group in ((True, eligible), (False, others)):
        previous: tuple[Any, ...] | None = None
        rank = 0
        for f in sorted(group, key=merit_key):
            merit = _merit(f)
            if merit != previous:  # competition ranking: 1, 2, 2, 4
                rank = len(out) + 1
                previous = merit
            out.append(
                Standing(
                    rank=rank,
                    counter=f.key,
                    eligible=is_eligible,
                    rated=f.rated,
                    satisfaction_rate=f.satisfaction_rate,
                    avg_level=f.avg_level,
                    completed=f.completed,
                )
            )
    return tuple(out)


def choose_model_window(report: MonthReport, section: KpiSection) -> ModelWindow | None:
    """The month's model counter(s), or None when no counter has `min_ratings` ratings."""
    ranked = sorted((f for f in report.counters if f.rated >= section.min_ratings), key=merit_key)
    if not ranked:
        return None
    best = ranked[0]
    winners = [f for f in ranked if _merit(f) == _merit(best)]
    staff: list[str] = []
    for f in winners:
        staff.extend(m for m in f.members if m not in staff)
    assert best.satisfaction_rate is not None and best.avg_level is not None  # rated > 0
    return ModelWindow(
        month=report.month,
        counters=tuple(f.key for f in winners),
        staff=tuple(staff),
        satisfaction_rate=best.satisfaction_rate,
        avg_level=best.avg_level,
        rated=best.rated,
        completed=best.completed,
        min_ratings=section.min_ratings,
        standings=standings(report, section),
    )


def model_window_data(report: MonthReport, section: KpiSection, trigger: str) -> dict[str, Any]:
    """Data of a `kpi.model_window` event; `counter` is None when no counter qualified.

    `trigger` is "month_closed" for the scheduled publication, "on_demand" otherwise.
    """
    window = choose_model_window(report, section)
    if window is not None:
        return {**window.to_dict(), "trigger": trigger}
    return {
        "counter": None,
        "month": report.month,
        "counters": [],
        "staff": [],
        "min_ratings": section.min_ratings,
        "standings": msgspec.json.decode(msgspec.json.encode(standings(report, section))),
        "reason": f"no counter had {section.min_ratings} ratings in the month",
        "trigger": trigger,
    }
