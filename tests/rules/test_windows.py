"""Sliding and tumbling windows: aggregates per key over event time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.rules.windows import SlidingWindow, TumblingWindow


def test_sliding_aggregates_and_eviction() -> None:
    w = SlidingWindow(period=3600)
    for t, v in [(0, 5), (600, 2), (1200, 4)]:
        w.add("3", t, v)
    assert w.query("3", 1200, "count") == 3
    assert w.query("3", 1200, "sum") == 11
    assert w.query("3", 1200, "avg") == pytest.approx(11 / 3)
    assert (w.query("3", 1200, "min"), w.query("3", 1200, "max"), w.query("3", 1200, "last")) == (
        2,
        5,
        4,
    )
    # an hour after the first value, it has left the window
    assert w.query("3", 3600, "count") == 2
    assert w.query("3", 3600, "avg") == 3
    assert w.query("3", 99999, "count") == 0
    assert w.query("3", 99999, "avg") is None
    assert w.query("other", 0, "sum") == 0


def test_sliding_bounded_per_key_and_pruned() -> None:
    w = SlidingWindow(period=100, max_items=3)
    for t in range(5):
        w.add("k", t, 1)
    assert w.query("k", 5, "count") == 3
    w.add("gone", 0, 1)
    w.prune(1000)
    assert w.dump() == {}


def test_sliding_late_event_keeps_order() -> None:
    w = SlidingWindow(period=10)
    w.add("k", 100, 1)
    w.add("k", 50, 2)  # device clock behind: counted at the newest time
    assert w.query("k", 105, "count") == 2


def test_sliding_dump_load_round_trip() -> None:
    w = SlidingWindow(period=60)
    w.add("a", 1, 2)
    w.add("a", 2, 3)
    again = SlidingWindow(period=60)
    again.load(w.dump())
    assert again.query("a", 2, "sum") == 5 and again.query("a", 2, "max") == 3


def test_sliding_loads_the_pairs_of_earlier_blobs() -> None:
    w = SlidingWindow(period=60, max_items=2)
    w.load({"a": [[1, 2], [2, 3], [3, 4]]})  # the format before packed arrays
    assert (w.query("a", 3, "count"), w.query("a", 3, "sum"), w.query("a", 3, "min")) == (2, 7, 3)
    again = SlidingWindow(period=60)
    again.load(w.dump())
    assert again.dump() == w.dump()
    assert again.query("a", 3, "avg") == 3.5


def test_sliding_long_run_matches_a_plain_list() -> None:
    # Past the point where dropped items are compacted away, with both bounds at work.
    w = SlidingWindow(period=500, max_items=700)
    kept: list[tuple[float, float]] = []
    for i in range(6000):
        t, v = i * 0.5, float(i % 13)
        w.add("k", t, v)
        kept = [(a, b) for a, b in [*kept, (t, v)] if a > t - 500][-700:]
        if i % 997 == 0 or i == 5999:
            values = [b for _a, b in kept]
            assert w.query("k", t, "count") == len(values)
            assert w.query("k", t, "sum") == pytest.approx(sum(values))
            assert (w.query("k", t, "min"), w.query("k", t, "max")) == (min(values), max(values))
            again = SlidingWindow(period=500, max_items=700)
            again.load(w.dump())
            assert again.query("k", t, "sum") == pytest.approx(sum(values))
            assert again.query("k", t, "last") == values[-1]


def test_tumbling_buckets_align_on_local_time() -> None:
    w = TumblingWindow(period=3600)
    hour = 3600
    w.add("pay", 9 * hour + 100, 1)
    w.add("pay", 9 * hour + 3000, 3)
    assert w.query("pay", 9 * hour + 3500, "sum") == 4
    assert w.query("pay", 9 * hour + 3500, "avg") == 2
    assert w.query("pay", 10 * hour + 1, "count") == 0  # the 09:00 bucket is over
    w.add("pay", 10 * hour + 5, 7)
    assert (w.query("pay", 10 * hour + 6, "min"), w.query("pay", 10 * hour + 6, "last")) == (7, 7)
    w.add("pay", 9 * hour + 10, 100)  # late, for a closed bucket: ignored
    assert w.query("pay", 10 * hour + 6, "sum") == 7
    again = TumblingWindow(period=3600)
    again.load(w.dump())
    assert again.query("pay", 10 * hour + 6, "sum") == 7
    w.prune(11 * hour)
    assert w.dump() == {}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(-5, 5)), min_size=1, max_size=40),
    st.integers(1, 30),
)
def test_sliding_matches_a_brute_force_count(steps: list[tuple[int, int]], period: int) -> None:
    w = SlidingWindow(period=period)
    t = 0
    seen: list[tuple[int, int]] = []
    for gap, value in steps:
        t += gap
        w.add("k", t, value)
        seen.append((t, value))
        inside = [v for tt, v in seen if tt > t - period]
        assert w.query("k", t, "count") == len(inside)
        assert w.query("k", t, "sum") == pytest.approx(sum(inside))
        assert w.query("k", t, "min") == min(inside)
        assert w.query("k", t, "max") == max(inside)
