"""Expressions turned into nested closures once, at load, instead of an AST walk per event.

`Evaluator` (edge/rules/conditions.py) walked each condition's AST for every event,
dispatching on the node type and checking each node's value: about a tenth of the hub's
time in a burst went to the rules, most of it there. `compile_node` does the dispatch once:
each node becomes a closure over its children's closures. The semantics are the
evaluator's, node for node: the same operators (simpleeval's safe ones), the same
read-only attribute lookup (`Evaluator.attribute`), the same whitelisted functions, the
same safety check of every value that is not a plain scalar or trusted event data. Node
kinds without a closure here (comprehensions, containers, calls with keywords) run through
the evaluator's own `_eval`, exactly as before.

No `eval` and no Python code generation: the closures only call what the evaluator would.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from simpleeval import DISALLOW_FUNCTIONS, DISALLOW_METHODS, DISALLOW_PREFIXES, FeatureNotAvailable

if TYPE_CHECKING:
    from edge.rules.conditions import Evaluator

# One compiled node: evaluated with the evaluator (functions, operators, trusted values) and
# the names of one event.
Compiled = Callable[["Evaluator", dict[str, Any]], Any]

# Results that need no recursive safety check (simpleeval checks every node's value).
SAFE_RESULT_TYPES = frozenset({int, float, str, bool, type(None), datetime, date})

_DISALLOWED_PREFIXES = tuple(DISALLOW_PREFIXES)
_DISALLOWED_METHODS = frozenset(DISALLOW_METHODS)


def forbidden_attr(attr: str) -> bool:
    """An attribute no expression may touch (dunders, `format`, `mro`...: simpleeval's list)."""
    return attr.startswith(_DISALLOWED_PREFIXES) or attr in _DISALLOWED_METHODS


def compile_node(node: ast.AST) -> Compiled:
    """The closure of one expression node (and, inside it, of its children)."""
    maker = _MAKERS.get(type(node))
    if maker is None or (isinstance(node, ast.Call) and node.keywords):
        return _checked(_walked(node))
    if isinstance(node, ast.Constant):
        return maker(node)  # a literal: checked for length at load, safe by type
    return _checked(maker(node))


def _checked(run: Compiled) -> Compiled:
    # The evaluator's per-node check: anything but a plain value or the trusted event data
    # is searched for forbidden functions and modules.
    def checked(ev: Evaluator, names: dict[str, Any]) -> Any:
        result = run(ev, names)
        if type(result) not in SAFE_RESULT_TYPES:
            ev.check_value(result)
        return result

    return checked


def _walked(node: ast.AST) -> Compiled:
    # A node kind without a closure: the evaluator walks it (it reads `ev.names`, which
    # `Evaluator.run` sets to these names).
    def walked(ev: Evaluator, _names: dict[str, Any]) -> Any:
        return ev._eval(node)

    return walked


def _constant(node: ast.AST) -> Compiled:
    value = node.value  # type: ignore[attr-defined]
    return lambda _ev, _names: value


def _name(node: ast.AST) -> Compiled:
    ident: str = node.id  # type: ignore[attr-defined]

    def name(ev: Evaluator, names: dict[str, Any]) -> Any:
        try:
            return names[ident]
        except (TypeError, KeyError):
            return ev.name_missing(ident)

    return name


def _attribute(node: ast.AST) -> Compiled:
    assert isinstance(node, ast.Attribute)
    attr = node.attr
    if forbidden_attr(attr):
        return _walked(node)  # the walk refuses it before it evaluates the base
    base = node.value
    base_run = compile_node(base)
    if isinstance(base, ast.Name):
        ident = base.id

        def named_attribute(ev: Evaluator, names: dict[str, Any]) -> Any:
            # `data.x`, `params.x`: the names are the event's own values (no safety walk).
            obj = names[ident] if ident in names else base_run(ev, names)
            return ev.attribute(obj, attr)

        return named_attribute
    return lambda ev, names: ev.attribute(base_run(ev, names), attr)


def _call(node: ast.AST) -> Compiled:
    assert isinstance(node, ast.Call)
    args = [compile_node(a) for a in node.args]
    func_node = node.func
    if isinstance(func_node, ast.Attribute):
        method = compile_node(func_node)
        return lambda ev, names: method(ev, names)(*[a(ev, names) for a in args])
    if not isinstance(func_node, ast.Name):
        return _walked(node)
    ident = func_node.id

    def call(ev: Evaluator, names: dict[str, Any]) -> Any:
        func = ev.functions.get(ident)
        if func is None:
            return ev._eval(node)  # simpleeval's own error for an unknown function
        if func in DISALLOW_FUNCTIONS:
            raise FeatureNotAvailable("This function is forbidden")
        return func(*[a(ev, names) for a in args])

    return call


def _compare(node: ast.AST) -> Compiled:
    assert isinstance(node, ast.Compare)
    left = compile_node(node.left)
    steps = [(type(op), compile_node(c)) for op, c in zip(node.ops, node.comparators, strict=True)]
    if len(steps) == 1:
        ((op_type, right),) = steps

        def compare_one(ev: Evaluator, names: dict[str, Any]) -> Any:
            return ev.operators[op_type](left(ev, names), right(ev, names))

        return compare_one

    def compare(ev: Evaluator, names: dict[str, Any]) -> Any:
        # simpleeval's chain: stop at the first false link; each side evaluated once.
        value = left(ev, names)
        result: Any = True
        for op_type, comp in steps:
            if not result:
                break
            lhs, value = value, comp(ev, names)
            result = ev.operators[op_type](lhs, value)
        return result

    return compare


def _boolop(node: ast.AST) -> Compiled:
    assert isinstance(node, ast.BoolOp)
    values = [compile_node(v) for v in node.values]
    if isinstance(node.op, ast.And):

        def all_of(ev: Evaluator, names: dict[str, Any]) -> Any:
            result: Any = False
            for v in values:
                result = v(ev, names)
                if not result:
                    break
            return result

        return all_of

    def any_of(ev: Evaluator, names: dict[str, Any]) -> Any:
        result: Any = False
        for v in values:
            result = v(ev, names)
            if result:
                break
        return result

    return any_of


def _binop(node: ast.AST) -> Compiled:
    assert isinstance(node, ast.BinOp)
    left, right, op_type = compile_node(node.left), compile_node(node.right), type(node.op)

    def binop(ev: Evaluator, names: dict[str, Any]) -> Any:
        op = ev.operators.get(op_type)
        if op is None:
            return ev._eval(node)  # simpleeval's own error for the operator
        return op(left(ev, names), right(ev, names))

    return binop


def _unaryop(node: ast.AST) -> Compiled:
    assert isinstance(node, ast.UnaryOp)
    operand, op_type = compile_node(node.operand), type(node.op)

    def unaryop(ev: Evaluator, names: dict[str, Any]) -> Any:
        op = ev.operators.get(op_type)
        if op is None:
            return ev._eval(node)
        return op(operand(ev, names))

    return unaryop


def _ifexp(node: ast.AST) -> Compiled:
    assert isinstance(node, ast.IfExp)
    test, body, orelse = compile_node(node.test), compile_node(node.body), compile_node(node.orelse)
    return lambda ev, names: body(ev, names) if test(ev, names) else orelse(ev, names)


def _subscript(node: ast.AST) -> Compiled:
    assert isinstance(node, ast.Subscript)
    container, key = compile_node(node.value), compile_node(node.slice)
    return lambda ev, names: container(ev, names)[key(ev, names)]


_MAKERS: dict[type[ast.AST], Callable[[ast.AST], Compiled]] = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.Attribute: _attribute,
    ast.Call: _call,
    ast.Compare: _compare,
    ast.BoolOp: _boolop,
    ast.BinOp: _binop,
    ast.UnaryOp: _unaryop,
    ast.IfExp: _ifexp,
    ast.Subscript: _subscript,
}
