"""Throttle, dedupe and debounce memories."""

from __future__ import annotations

from edge.rules.throttle import Debouncer, Gate


def test_throttle_counts_from_the_last_firing() -> None:
    g = Gate(period=60, refresh=False)
    assert [g.admit("k", t) for t in (0, 30, 59, 60, 61, 119, 120)] == [
        True,
        False,
        False,
        True,
        False,
        False,
        True,
    ]
    assert g.admit("other", 1) is True


def test_dedupe_counts_from_the_last_sighting() -> None:
    g = Gate(period=60, refresh=True)
    # seen every 50 s: one visit, however long
    assert [g.admit("c1", t) for t in (0, 50, 100, 150)] == [True, False, False, False]
    assert g.admit("c1", 211) is True  # 61 s without being seen: a new visit


def test_gate_prune_forgets_expired_keys() -> None:
    g = Gate(period=10, refresh=False)
    g.admit("a", 0)
    g.admit("b", 5)
    g.prune(12)
    assert list(g.last) == ["b"]


def test_debounce_restart_and_hold() -> None:
    restart = Debouncer(period=10, restart=True)
    assert restart.match("k", 0, {"n": 1}) == 10
    assert restart.match("k", 5, {"n": 2}) == 15
    assert restart.expired(14) == []
    ((key, pending),) = restart.expired(15)
    assert key == "k" and pending.event == {"n": 2}

    hold = Debouncer(period=10, restart=False)
    assert hold.match("k", 0, {"n": 1}) == 10
    assert hold.match("k", 5, {"n": 2}) is None
    assert hold.next_due() == 10
    assert hold.cancel("k") is True and hold.cancel("k") is False
    assert hold.next_due() is None


def test_debounce_dump_load() -> None:
    d = Debouncer(period=10, restart=True)
    d.match("a", 1, {"seq": 4})
    again = Debouncer(period=10, restart=True)
    again.load(d.dump())
    assert again.expired(11)[0][1].event == {"seq": 4}
