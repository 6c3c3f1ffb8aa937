"""Lifted field tests never change a condition's outcome, they only skip certain misses."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.rules.conditions import EVENT_NAMES, Scope, compile_expr, static_checker
from edge.rules.prefilter import lift, passes

SCOPE = Scope(names=EVENT_NAMES, params=frozenset(), windows=frozenset())
CHECKER = static_checker()

CONDITIONS = {
    "data.counter == 3 and data.level <= 2": 1,
    "data.get('priority') == 'vip'": 1,
    "data.get('vip', False) == True": 1,
    "data.service in ('payment', 'invoice') and data.counter == 3 and data.level > 1": 2,
    "3 == data.counter": 1,
    "data['counter'] == -1": 1,
    "data.counter == 3 or data.level == 1": 0,
    "data.level <= 2 and data.counter == 3": 0,
    "data.get('priority', 'normal') == 'normal'": 0,
    "data.service in {'payment'}": 0,
    "data.counter == data.level": 0,
}

COMPILED = [
    (source, expr, lift(expr))
    for source in CONDITIONS
    for expr in [compile_expr(source, SCOPE, CHECKER)]
]

values = st.one_of(
    st.integers(-2, 4),
    st.sampled_from(["vip", "payment", "invoice", "normal", ""]),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 3), max_size=2),
    st.floats(2.5, 3.5),
)
events = st.dictionaries(
    st.sampled_from(["counter", "level", "service", "priority", "vip", "get"]), values, max_size=6
)


def test_what_is_lifted() -> None:
    for source, count in CONDITIONS.items():
        assert len(lift(compile_expr(source, SCOPE, CHECKER))) == count, source


@settings(max_examples=250, deadline=None)
@given(events)
def test_a_skipped_event_would_have_failed_the_condition_without_error(
    data: dict[str, Any],
) -> None:
    for source, expr, tests in COMPILED:
        if passes(tests, data):
            continue
        result = CHECKER.run(expr, {"data": data})  # must not raise
        assert not result, (source, data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [({"counter": 3, "level": 1}, True), ({"counter": 4, "level": 1}, False), ({"level": 1}, True)],
)
def test_missing_field_is_left_to_the_condition(data: dict[str, Any], expected: bool) -> None:
    tests = lift(compile_expr("data.counter == 3 and data.level <= 2", SCOPE, CHECKER))
    assert passes(tests, data) is expected
