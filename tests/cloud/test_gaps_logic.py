"""The gap bookkeeping on its own (the database side is in test_gaps.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud.gaps import Gap, JournalSeqs, apply

T0 = datetime(2026, 12, 3, tzinfo=UTC)


def _open(gaps: list[Gap]) -> list[tuple[int, int]]:
    return sorted((g.from_seq, g.to_seq) for g in gaps if g.closed_at is None)


def test_in_order_opens_nothing() -> None:
    j = JournalSeqs()
    assert apply(j, [], range(1, 101), T0) == []
    assert (j.first_hallseq, j.max_hallseq, j.reused) == (1, 100, 0)


def test_a_hole_opens_then_narrows_splits_and_closes() -> None:
    j = JournalSeqs()
    gaps = apply(j, [], [1, 2, 10], T0)
    assert _open(gaps) == [(3, 9)]
    later = T0 + timedelta(seconds=5)
    gaps = apply(j, gaps, [3, 6], later)  # narrows from below, splits in the middle
    assert _open(gaps) == [(4, 5), (7, 9)]
    assert {g.first_seen for g in gaps} == {T0}  # a split keeps when it was first seen
    gaps = apply(j, gaps, [4, 5, 7, 8, 9], later)
    assert _open(gaps) == [] and all(g.closed_at == later for g in gaps if g.from_seq <= 5)
    assert j.reused == 0


def test_below_the_first_seen_opens_down_to_it() -> None:
    j = JournalSeqs()
    apply(j, [], [50], T0)
    gaps = apply(j, [], [40], T0)
    assert _open(gaps) == [(41, 49)] and j.first_hallseq == 40


def test_a_number_used_twice_is_counted_not_a_gap() -> None:
    j = JournalSeqs()
    apply(j, [], [1, 2, 3], T0)
    assert apply(j, [], [2], T0) == [] and j.reused == 1
