"""The figures of one group (the hall, a counter, a staff member, a service, a day).

Percentiles: the median is the usual one (mean of the two middle values for an even
count, as `statistics.median`); p90 is the nearest-rank p90: the value at rank
ceil(0.9 * n) of the sorted values, so it is always a time that was really measured.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

import msgspec

from edge.config.kpi import COUNTER_CHANNEL, KpiSection
from edge.kpi.facts import FeedbackFact, KioskPayment, RatingFact, TicketOutcome


def median(ordered: Sequence[float]) -> float | None:
    """Median of already sorted values; None when there are none."""
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def p90(ordered: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile of already sorted values; None when there are none."""
    n = len(ordered)
    if n == 0:
        return None
    rank = -(-9 * n // 10)  # ceil(0.9 n) in integers: 0.9 * n in floats can overshoot
    return float(ordered[rank - 1])


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when nothing was counted."""
    return part / whole if whole else None


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """Service figures of one group over one period. Times are in seconds."""

    key: str
    issued: int | None  # None where a group has no issued tickets (counters, staff)
    completed: int
    abandoned: int
    no_show: int
    left: int
    wait_median_s: float | None
    wait_p90_s: float | None
    service_median_s: float | None
    service_p90_s: float | None
    within_norm: int
    within_norm_rate: float | None
    rated: int
    levels: tuple[int, int, int, int, int]  # number of ratings of level 1, 2, 3, 4, 5
    avg_level: float | None
    satisfied: int
    satisfaction_rate: float | None
    participation_rate: float | None
    poor: int
    timed_out: int
    active_days: int  # days with at least one ticket completed or rated
    members: tuple[str, ...] = ()  # a counter's staff, a staff member's counters


def figures_of(
    key: str,
    outcomes: Sequence[TicketOutcome],
    ratings: Sequence[RatingFact],
    *,
    issued: int | None,
    section: KpiSection,
    members: str = "",
) -> Figures:
    """The figures of one group from its ticket outcomes and ratings.

    `issued` is None for groups that tickets are not issued to (counters, staff);
    `members` names the TicketOutcome field listed as the group's members ("staff" for a
    counter, "counter" for a staff member), most completed tickets first.
    """
    done = [t for t in outcomes if t.outcome == "completed"]
    waits = sorted([t.wait_s for t in done])
    serves = sorted([t.service_s for t in done])
    norms = section.norms_min
    default_norm = section.default_norm_min
    # list comprehensions, not generators: this runs over every ticket of every group
    within = len([t for t in done if t.service_s <= norms.get(t.service, default_norm) * 60.0])
    no_show = len([t for t in outcomes if t.outcome == "no_show"])
    levels = [0, 0, 0, 0, 0, 0]  # index = level; 0 counts time-outs
    for r in ratings:
        levels[r.level or 0] += 1
    rated = len(ratings) - levels[0]
    satisfied = sum(levels[lv] for lv in set(section.satisfied_levels))
    level_sum = sum(lv * levels[lv] for lv in range(1, 6))
    member_counts = Counter(getattr(t, members) for t in done) if members else Counter[str]()
    return Figures(
        key=key,
        issued=issued,
        completed=len(done),
        abandoned=len(outcomes) - len(done),
        no_show=no_show,
        left=len(outcomes) - len(done) - no_show,
        wait_median_s=median(waits),
        wait_p90_s=p90(waits),
        service_median_s=median(serves),
        service_p90_s=p90(serves),
        within_norm=within,
        within_norm_rate=ratio(within, len(done)),
        rated=rated,
        levels=(levels[1], levels[2], levels[3], levels[4], levels[5]),
        avg_level=level_sum / rated if rated else None,
        satisfied=satisfied,
        satisfaction_rate=ratio(satisfied, rated),
        participation_rate=ratio(rated, len(done)),
        poor=sum(levels[lv] for lv in set(section.poor_levels)),
        timed_out=levels[0],
        active_days=len({t.day for t in done} | {r.day for r in ratings}),
        members=tuple(sorted(member_counts, key=lambda m: (-member_counts[m], m))),
    )


class PaymentMix(msgspec.Struct, frozen=True, kw_only=True):
    """Payments per channel bucket; `non_counter_share` is the share made without a clerk."""

    counts: dict[str, int]
    total: int
    non_counter: int
    non_counter_share: float | None
    kiosk_failed: int  # kiosk payments whose result was not a success (not in the mix)


def payment_mix(
    counter_payments: int, kiosk: Sequence[KioskPayment], section: KpiSection
) -> PaymentMix:
    """The channel mix of counter payments and kiosk payments of one period."""
    counts = dict.fromkeys(section.channel_order(), 0)
    counts[COUNTER_CHANNEL] = counter_payments
    failed = 0
    for p in kiosk:
        if p.ok:
            counts[p.bucket] = counts.get(p.bucket, 0) + 1
        else:
            failed += 1
    total = sum(counts.values())
    non_counter = total - counter_payments
    return PaymentMix(
        counts=counts,
        total=total,
        non_counter=non_counter,
        non_counter_share=ratio(non_counter, total),
        kiosk_failed=failed,
    )


class FeedbackCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Feedback of one period; `complaints_open` were not closed by the period's end."""

    complaints: int
    suggestions: int
    praise: int
    other: int
    complaints_open: int


def feedback_counts(
    items: Sequence[FeedbackFact], closed_at: dict[str, float], period_end: float
) -> FeedbackCounts:
    """Count feedback by category; a complaint is open unless closed before `period_end`."""
    by = Counter(f.category for f in items)
    still_open = sum(
        1
        for f in items
        if f.category == "complaint" and closed_at.get(f.feedback_id, period_end) >= period_end
    )
    known = by["complaint"] + by["suggestion"] + by["praise"]
    return FeedbackCounts(
        complaints=by["complaint"],
        suggestions=by["suggestion"],
        praise=by["praise"],
        other=len(items) - known,
        complaints_open=still_open,
    )


def merit_key(f: Figures) -> tuple[int, Fraction, Fraction, int, str]:
    """Sort key of the model-counter rule, best first.

    Rated groups before unrated ones; then satisfaction rate, average level and volume
    (completed tickets), all descending; the key last, so the order is always the same.
    Exact fractions, so that equal rates tie exactly instead of by float rounding.
    """
    if not f.rated:
        return (1, Fraction(0), Fraction(0), -f.completed, f.key)
    level_sum = sum(level * n for level, n in enumerate(f.levels, start=1))
    return (0, -Fraction(f.satisfied, f.rated), -Fraction(level_sum, f.rated), -f.completed, f.key)
