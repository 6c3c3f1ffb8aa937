"""The expected figures, computed straight from the generator's truth with plain loops.

Deliberately independent of edge.kpi: its own percentile code (statistics.median and the
nearest-rank p90 with exact fractions), its own norms and channel table, and it never
sees an event, so duplicates and late arrivals cannot leak into the expectation.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from edge.sim.month_truth import FeedbackTruth, HallMonth, PaymentTruth, TicketTruth

NORM_MIN = {"payment": 5}  # every other service: 20 minutes
SATISFIED = {4, 5}
POOR = {1, 2}
BUCKET = {
    "wechat": "wechat",
    "alipay": "alipay",
    "unionpay": "unionpay",
    "card": "kiosk",
    "cash": "kiosk",
}


def nearest_rank_p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[math.ceil(Fraction(9, 10) * len(ordered)) - 1])


def plain_median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def group_figures(
    tickets: list[TicketTruth], key: str, issued: bool, members: str = ""
) -> dict[str, Any]:
    """Expected Figures (as a dict) of the tickets of one group.

    `members` is "staff" for a counter's row, "counter" for a staff member's row.
    """
    done = [t for t in tickets if t.outcome == "completed"]
    rated = [t.rating for t in done if t.rating is not None]
    levels = [sum(1 for r in rated if r == lv) for lv in range(1, 6)]
    waits = [float(t.wait_s) for t in done]
    serves = [float(t.service_s) for t in done]
    within = sum(1 for t in done if t.service_s <= NORM_MIN.get(t.service, 20) * 60)
    satisfied = sum(1 for r in rated if r in SATISFIED)
    member_counts: Counter[str] = Counter()
    if members:
        for t in done:
            member_counts[getattr(t, members)] += 1
    return {
        "key": key,
        "issued": len(tickets) if issued else None,
        "completed": len(done),
        "abandoned": sum(1 for t in tickets if t.outcome != "completed"),
        "no_show": sum(1 for t in tickets if t.outcome == "no_show"),
        "left": sum(1 for t in tickets if t.outcome == "left"),
        "wait_median_s": plain_median(waits),
        "wait_p90_s": nearest_rank_p90(waits),
        "service_median_s": plain_median(serves),
        "service_p90_s": nearest_rank_p90(serves),
        "within_norm": within,
        "within_norm_rate": share(within, len(done)),
        "rated": len(rated),
        "levels": levels,
        "avg_level": sum(rated) / len(rated) if rated else None,
        "satisfied": satisfied,
        "satisfaction_rate": share(satisfied, len(rated)),
        "participation_rate": share(len(rated), len(done)),
        "poor": sum(1 for r in rated if r in POOR),
        "timed_out": sum(1 for t in done if t.rating_timed_out),
        "active_days": len({t.day for t in done}),
        "members": sorted(member_counts, key=lambda m: (-member_counts[m], m)),
    }


def payments(day_tickets: list[TicketTruth], pays: list[PaymentTruth]) -> dict[str, Any]:
    counts = {"counter": 0, "kiosk": 0, "wechat": 0, "alipay": 0, "unionpay": 0}
    for t in day_tickets:
        if t.outcome == "completed" and t.service == "payment":
            counts["counter"] += 1
    failed = 0
    for p in pays:
        if p.result == "ok":
            counts[BUCKET[p.channel]] += 1
        else:
            failed += 1
    total = sum(counts.values())
    return {
        "counts": counts,
        "total": total,
        "non_counter": total - counts["counter"],
        "non_counter_share": share(total - counts["counter"], total),
        "kiosk_failed": failed,
    }


def feedback(items: list[FeedbackTruth], end: datetime) -> dict[str, Any]:
    return {
        "complaints": sum(1 for f in items if f.category == "complaint"),
        "suggestions": sum(1 for f in items if f.category == "suggestion"),
        "praise": sum(1 for f in items if f.category == "praise"),
        "other": 0,
        "complaints_open": sum(
            1
            for f in items
            if f.category == "complaint" and (f.closed_at is None or f.closed_at >= end)
        ),
    }


def period_expectation(hm: HallMonth, days: list[date], tz: ZoneInfo) -> dict[str, Any]:
    """Every expected figure of the period made of `days`."""
    wanted = set(days)
    tickets = [t for t in hm.tickets if t.day in wanted]
    counters: dict[str, list[TicketTruth]] = {}
    staff: dict[str, list[TicketTruth]] = {}
    services: dict[str, list[TicketTruth]] = {}
    for t in tickets:
        services.setdefault(t.service, []).append(t)
        if t.outcome != "left":
            counters.setdefault(t.counter, []).append(t)
            staff.setdefault(t.staff, []).append(t)
    hall_open = {t.day for t in hm.tickets} & wanted
    for day in sorted(hall_open):  # a counter that opened but served nobody still has a row
        for c in hm.counters:
            if not (hm.closed_from and c == hm.closed_counter and day >= hm.closed_from):
                counters.setdefault(c, [])
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=tz)
    return {
        "hall": group_figures(tickets, "hall", issued=True),
        "counters": {c: group_figures(ts, c, False, "staff") for c, ts in counters.items()},
        "staff": {s: group_figures(ts, s, False, "counter") for s, ts in staff.items()},
        "services": {s: group_figures(ts, s, True) for s, ts in services.items()},
        "payments": payments(tickets, [p for p in hm.payments if p.day in wanted]),
        "feedback": feedback([f for f in hm.feedback if f.day in wanted], end),
    }


def model_counters(counters: dict[str, dict[str, Any]], min_ratings: int) -> list[str]:
    """The model counter(s) by the rule, computed with exact fractions."""

    def merit(f: dict[str, Any]) -> tuple[Fraction, Fraction, int]:
        level_sum = sum(lv * n for lv, n in zip(range(1, 6), f["levels"], strict=True))
        return (
            Fraction(f["satisfied"], f["rated"]),
            Fraction(level_sum, f["rated"]),
            f["completed"],
        )

    eligible = {c: merit(f) for c, f in counters.items() if f["rated"] >= min_ratings}
    if not eligible:
        return []
    best = max(eligible.values())
    return sorted(c for c, m in eligible.items() if m == best)
