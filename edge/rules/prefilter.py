"""Field tests lifted out of a condition so most events skip a rule without running it.

Installers write conditions that start by picking the counter or the service:
`data.counter == 3 and data.level <= 2`, `data.get('priority') == 'vip'`,
`data.service in ('payment', 'invoice') and ...`. Most events fail that first test. The
leading equality/membership tests of a condition's top-level `and` are read off its AST at
load and checked per event with plain lookups; an event that passes them still runs the
whole condition, so the outcome is exactly the condition's:

- only a leading run of such tests is lifted (what `and` evaluates before anything else,
  so skipping can never hide an error a later operand would have raised);
- `data.x == c` with the field missing is not skipped: the condition runs and reports the
  missing field, as it would have;
- `data.get('x', d) == c` is lifted only when the default cannot pass the test.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge.rules.conditions import Expr

_MISSING = object()
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True, slots=True)
class FieldTest:
    """`data[field]` must be one of `accepted`; `missing_fails` for the `data.get()` form."""

    field: str
    accepted: tuple[Any, ...]
    missing_fails: bool


def passes(tests: tuple[FieldTest, ...], data: Mapping[str, Any]) -> bool:
    """False if the event certainly fails the condition these tests were lifted from."""
    for test in tests:
        if test.missing_fails and "get" in data:
            return True  # `data.get` names a field of this event: only the condition knows
        value = data.get(test.field, _MISSING)
        if value is _MISSING:
            # `data.get()` form: the default cannot pass, so the condition fails. Otherwise
            # the condition raises here (missing field): it must run, whatever follows.
            return not test.missing_fails
        if value not in test.accepted:
            return False
    return True


def lift(expr: Expr) -> tuple[FieldTest, ...]:
    """The leading field tests of a condition (empty if it does not start with one)."""
    node = expr.node
    operands = (
        node.values if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) else [node]
    )
    tests: list[FieldTest] = []
    for operand in operands:
        test = _field_test(operand)
        if test is None:
            break
        tests.append(test)
    return tuple(tests)


def _field_test(node: ast.AST) -> FieldTest | None:
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        return None
    op, left, right = node.ops[0], node.left, node.comparators[0]
    if isinstance(op, ast.Eq) and _constant(left) is not None and _constant(right) is None:
        left, right = right, left  # 3 == data.counter
    if isinstance(op, ast.Eq):
        const = _constant(right)
        accepted = None if const is None else (const[0],)
    elif isinstance(op, ast.In) and isinstance(right, ast.Tuple | ast.List):
        # tuples and lists compare by ==, like the test below; sets would hash (and
        # raise on a list value), so they are left to the condition
        items = [_constant(e) for e in right.elts]
        accepted = None if any(i is None for i in items) else tuple(i[0] for i in items if i)
    else:
        return None
    if accepted is None:
        return None
    return _on_field(left, accepted)


def _on_field(node: ast.AST, accepted: tuple[Any, ...]) -> FieldTest | None:
    if isinstance(node, ast.Attribute) and _is_data(node.value):
        return FieldTest(node.attr, accepted, missing_fails=False)
    if isinstance(node, ast.Subscript) and _is_data(node.value):
        key = _constant(node.slice)
        if key is not None and isinstance(key[0], str):
            return FieldTest(key[0], accepted, missing_fails=False)
        return None
    is_get = (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and _is_data(node.func.value)
        and not node.keywords
        and 1 <= len(node.args) <= 2
    )
    if not is_get:
        return None
    assert isinstance(node, ast.Call)
    key = _constant(node.args[0])
    default = _constant(node.args[1]) if len(node.args) == 2 else (None,)
    if key is None or not isinstance(key[0], str) or default is None:
        return None
    if default[0] in accepted:
        return None  # a missing field would pass: nothing to lift
    return FieldTest(key[0], accepted, missing_fails=True)


def _is_data(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "data"


def _constant(node: ast.AST) -> tuple[Any] | None:
    """(value,) for a scalar literal (negative numbers included), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, _SCALARS):
        return (node.value,)
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    ):
        return (-node.operand.value,)
    return None
