"""Envelope ids: ULID text, strictly increasing within a millisecond, across digit carries."""

from __future__ import annotations

import random

from edge.model import EventIds

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def reference(ms: int, rand: int) -> str:
    """The 26 Crockford digits of the 128-bit value, most significant first."""
    value = (ms << 80) | rand
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def test_ids_in_one_millisecond_count_up_through_carries() -> None:
    rng = random.Random(7)
    for _ in range(300):
        ms = rng.randrange(2**48)
        ids = EventIds()
        # Start a few short of a carry out of the low 10 bits (and now and then of more).
        low_bits = rng.choice((10, 15, 20))
        start = (rng.randrange(2**78) | (2**low_bits - 1)) - rng.randrange(4)
        ids._last_ms, ids._last_rand = ms, start
        made = [ids.new(ms) for _ in range(8)]
        assert made == [reference(ms, start + i) for i in range(1, 9)]
        assert made == sorted(made) and len(set(made)) == len(made)


def test_a_new_millisecond_sorts_after_the_last_one() -> None:
    ids = EventIds()
    first = [ids.new(1_764_800_000_000) for _ in range(3)]
    later = ids.new(1_764_800_000_001)
    assert len(later) == 26 and later > first[-1]
    assert later[:10] == reference(1_764_800_000_001, 0)[:10]


def test_a_clock_that_goes_back_keeps_ids_increasing() -> None:
    ids = EventIds()
    a = ids.new(1_764_800_000_005)
    b = ids.new(1_764_800_000_001)  # the clock stepped back: stays on the last millisecond
    assert b > a and b[:10] == a[:10]
