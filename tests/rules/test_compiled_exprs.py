"""Compiled conditions (edge/rules/compiled.py) against the evaluator's own AST walk: for
each expression the same value, or the same error with the same message. The expressions
are parsed without the load-time check, so the run-time guards (dunders, methods per type,
functions not whitelisted) are compared too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from edge.rules.conditions import Evaluator, Expr, parse, static_checker
from tests.rules.helpers import TZ

EXPRESSIONS = [
    "data.level <= params.bar",
    "data.level > 1 and data.level < 5 or data.name == 'x'",
    "data.name or 'none'",
    "data.missing_or == 1 or True",  # a missing field raises before `or` is reached
    "not data.flag",
    "-data.level + 2 * 3 - 1 / 4 % 3",
    "data.level ** 2",
    "1 < data.level < 3 < 9",
    "1 < data.level > 3 < 9",  # the chain stops at its first false link
    "data.level if data.flag else 'no'",
    "data['dims']['attitude'] + data.items[1]",
    "data.items[0:1]",
    "data.dims",  # a nested mapping of the event: trusted data, no safety walk
    "data.get('dims')",
    "data.get('absent', 7)",
    "data.keys()",
    "data.name.upper().lower()",
    "data.name.startswith('p')",
    "time.hour == 9 and time.weekday() == 0",
    "len([x for x in data.items if x > 4])",
    "{'a': data.level}['a']",
    "(data.level, 2)[0]",
    "abs(-data.level) + round(2.5) + int('3') + float(1)",
    "str(data.level) + 'x' * 3",
    "state.get('k', 0) + 1",
    "params.bar * 2",
    "seq > 3 and type == 'rating.submitted' and device_id.startswith('pad')",
    "n.count(1)",
    "f(2)",
    "data.nope",
    "data.clear()",
    "n.pop()",
    "data.level.__class__",
    "data.nope.__class__",  # refused before the missing field is looked for
    "undefined_name.__class__",
    "'x' * 100000000",
    "10 ** 10000",
    "data.level + 'text'",
    "data['nope']",
    "f.__name__",
    "open('x')",
    "undefined_name + 1",
]


def _names() -> dict[str, Any]:
    return {
        "data": {
            "level": 2,
            "name": "pad",
            "flag": True,
            "dims": {"attitude": 1},
            "items": [4, 5],
        },
        "type": "rating.submitted",
        "device_id": "pad-1",
        "seq": 9,
        "id": "01J",
        "params": {"bar": 3},
        "state": {"k": 4},
        "time": datetime(2026, 1, 5, 9, tzinfo=TZ),
        "n": [1, 2, 1],
        "f": lambda x: x + 1,
    }


def _outcome(run: Any) -> tuple[str, Any]:
    try:
        return "value", run()
    except Exception as exc:
        return type(exc).__name__, str(exc)


def _walked(ev: Evaluator, expr: Expr, names: dict[str, Any]) -> Any:
    ev.names, ev._max_count, ev.expr = names, 0, expr.source
    return ev._eval(expr.node)


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_compiled_and_walked_agree(source: str) -> None:
    ev = static_checker()
    expr = parse(source)
    names = _names()
    ev.trusted = (names["data"], names["state"])
    compiled = _outcome(lambda: ev.run(expr, names))
    walked = _outcome(lambda: _walked(ev, expr, _names() | {"f": names["f"]}))
    assert compiled == walked


def test_the_outcomes_cover_values_and_errors() -> None:
    # The table above must exercise both sides, or the agreement says little.
    ev = static_checker()
    kinds = set()
    for source in EXPRESSIONS:
        names = _names()
        ev.trusted = (names["data"], names["state"])
        kinds.add(_outcome(lambda s=source, n=names: ev.run(parse(s), n))[0])
    expected = {"value", "MissingField", "FeatureNotAvailable", "TypeError", "KeyError"}
    assert expected | {"NameNotDefined", "FunctionNotDefined"} <= kinds
