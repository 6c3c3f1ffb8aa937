"""Conditions and computed values: simpleeval expressions, parsed and checked once at load.

The expression language is simpleeval's (a kept library: no `eval`, no parser of our own).
At load every expression is parsed to an AST and checked: only known names, known
functions, declared params and existing window ids; no dunder access. Per event the engine
evaluates the pre-parsed AST with `Evaluator`, a simpleeval evaluator whose names are the
event (`data`, `type`, `device_id`...) and whose functions are a short whitelist; each
expression is also compiled at load into closures that do the same per node without the
walk (edge/rules/compiled.py), and that is what runs per event.

Two changes to simpleeval's defaults, both for event data:
- `data.level` reads the mapping key first (event fields are mapping keys, not attributes),
  and a missing field raises `MissingField` naming it instead of an attribute error.
- method access is limited per type (`allowed_attrs`): mappings may only `get`/`keys`/
  `values`/`items`, so a condition cannot change the event or the rule state.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from simpleeval import (
    BASIC_ALLOWED_ATTRS,
    DISALLOW_FUNCTIONS,
    MAX_STRING_LENGTH,
    EvalWithCompoundTypes,
    FeatureNotAvailable,
    InvalidExpression,
    NameNotDefined,
)

from edge.errors import EdgeError
from edge.rules.compiled import SAFE_RESULT_TYPES, Compiled, compile_node, forbidden_attr

# Names every expression may use; `vars` of a rule are added in order.
EVENT_NAMES = frozenset(
    {"data", "type", "device_id", "seq", "id", "time", "params", "state", "True", "False", "None"}
)
WINDOW_FUNCTIONS = frozenset({"count", "sum", "avg", "min", "max", "last"})
PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "len": len,
}
STATE_FUNCTIONS = frozenset({"value"})
# EvalWithCompoundTypes adds these constructors itself.
COMPOUND_FUNCTIONS = frozenset({"list", "tuple", "dict", "set"})

_READ_ONLY_MAPPING = {"get", "keys", "values", "items"}
_STR_ATTRS = BASIC_ALLOWED_ATTRS[str] - {"format", "format_map", "maketrans", "encode"}
ALLOWED_ATTRS: dict[type | None, set[str]] = {
    int: set(BASIC_ALLOWED_ATTRS[int]),
    float: set(BASIC_ALLOWED_ATTRS[float]),
    bool: set(BASIC_ALLOWED_ATTRS[bool]),
    str: set(_STR_ATTRS),
    None: set(),
    dict: set(_READ_ONLY_MAPPING),
    MappingProxyType: set(_READ_ONLY_MAPPING),
    list: {"count", "index"},
    tuple: {"count", "index"},
    datetime: {"hour", "minute", "second", "year", "month", "day", "weekday", "isoweekday"},
    date: {"year", "month", "day", "weekday", "isoweekday"},
}


class ExprError(EdgeError, ValueError):
    """An expression is not acceptable; the message says why (the loader adds file and line)."""


class MissingField(InvalidExpression):  # type: ignore[misc]
    """A condition read a field the event does not have."""

    def __init__(self, name: str) -> None:
        self.message = f"no field '{name}'"
        super().__init__(self.message)


@dataclass(frozen=True, slots=True, eq=False)
class Expr:
    """One parsed expression: its source (for messages and traces), its AST and the
    closures compiled from it."""

    source: str
    node: ast.AST
    compiled: Compiled


class Evaluator(EvalWithCompoundTypes):  # type: ignore[misc]
    """simpleeval with event-friendly attribute lookup and a cheaper safety check."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        super().__init__(functions=dict(functions), names={}, allowed_attrs=ALLOWED_ATTRS)
        # Values already known to hold only JSON data (event data, named values) and the
        # ids of the params' containers: simpleeval would otherwise walk them in full on
        # every evaluation.
        self.trusted: tuple[object, ...] = ()
        self.trusted_ids: frozenset[int] = frozenset()

    def run(self, expr: Expr, names: dict[str, Any]) -> Any:
        """Evaluate a pre-parsed expression with these names."""
        self.names = names
        self._max_count = 0
        self.expr = expr.source
        return expr.compiled(self, names)

    def name_missing(self, name: str) -> Any:
        """A name the event's names lack: a whitelisted function, or simpleeval's error."""
        if name in self.functions:
            return self.functions[name]
        raise NameNotDefined(name, self.expr)

    def _eval(self, node: ast.AST) -> Any:
        # simpleeval's own _eval, with the per-node safety check skipped for plain values
        # and for the trusted event data (this runs for every node of every condition).
        try:
            handler = self.nodes[type(node)]
        except KeyError:
            raise FeatureNotAvailable(f"{type(node).__name__} is not available") from None
        result = handler(node)
        if type(result) not in SAFE_RESULT_TYPES:
            self.check_value(result)
        return result

    def check_value(self, result: Any) -> None:
        """simpleeval's safety walk of a value that is not a plain scalar, skipped for the
        trusted event data and params (compiled expressions call it too)."""
        if id(result) in self.trusted_ids:
            return
        for trusted in self.trusted:
            if result is trusted:
                return
        self._check_disallowed_items(result)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        base = node.value
        if type(base) is ast.Name and base.id in self.names:
            # `data.x`, `params.x`: the names are the event's own values (no safety walk).
            return self.attribute(self.names[base.id], node.attr)
        if forbidden_attr(node.attr):
            raise FeatureNotAvailable(f"access to '{node.attr}' is not allowed")
        return self.attribute(self._eval(base), node.attr)

    def attribute(self, obj: Any, attr: str) -> Any:
        """`obj.attr` as conditions see it: a mapping's key first, a few read-only methods,
        and per type only the attributes `allowed_attrs` lists."""
        if forbidden_attr(attr):
            raise FeatureNotAvailable(f"access to '{attr}' is not allowed")
        if type(obj) is dict or isinstance(obj, Mapping):
            if attr in obj:
                return obj[attr]
            if attr in _READ_ONLY_MAPPING:
                return getattr(obj, attr)
            if hasattr(type(obj), attr):
                raise FeatureNotAvailable(f"'.{attr}' is not allowed (read-only)")
            raise MissingField(attr)
        allowed = self.allowed_attrs.get(type(obj))
        if allowed is None or attr not in allowed:
            raise FeatureNotAvailable(f"'.{attr}' is not allowed on {type(obj).__name__}")
        return getattr(obj, attr)

    def _eval_constant(self, node: ast.Constant) -> Any:
        # Literal lengths are checked once at load (compile_expr), not per evaluation.
        return node.value

    def _eval_call(self, node: ast.Call) -> Any:
        if node.keywords:
            return super()._eval_call(node)
        # simpleeval's call without building a generator and a kwargs dict per call; the
        # same checks: attribute calls go through _eval_attribute (limited per type), named
        # calls only reach the whitelisted functions.
        if isinstance(node.func, ast.Attribute):
            func = self._eval(node.func)
        else:
            try:
                func = self.functions[node.func.id]  # type: ignore[attr-defined]
            except (KeyError, AttributeError):
                return super()._eval_call(node)
            if func in DISALLOW_FUNCTIONS:
                raise FeatureNotAvailable("This function is forbidden")
        return func(*[self._eval(a) for a in node.args])


def parse(source: str) -> Expr:
    """Parse one expression; ExprError if it is not a single Python expression."""
    text = source.strip()
    if not text:
        raise ExprError("a non-empty expression")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            module = ast.parse(text)
    except SyntaxError as exc:
        raise ExprError(f"a valid expression ({exc.msg})") from None
    if len(module.body) != 1 or not isinstance(module.body[0], ast.Expr):
        raise ExprError("one expression (no assignment, no second statement)")
    node = module.body[0].value
    return Expr(source=text, node=node, compiled=compile_node(node))


@dataclass(frozen=True, slots=True)
class Scope:
    """What an expression may refer to: names, declared params and window ids."""

    names: frozenset[str]
    params: frozenset[str]
    windows: frozenset[str]


def compile_expr(source: str, scope: Scope, checker: Evaluator) -> Expr:
    """Parse and check an expression against `scope`; raises ExprError with the reason."""
    expr = parse(source)
    _check(expr.node, scope, checker)
    return expr


def _comprehension_targets(node: ast.AST) -> set[str]:
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.comprehension):
            for target in ast.walk(sub.target):
                if isinstance(target, ast.Name):
                    found.add(target.id)
    return found


def _check(root: ast.AST, scope: Scope, checker: Evaluator) -> None:
    local = _comprehension_targets(root)
    functions = set(checker.functions)
    for node in ast.walk(root):
        if isinstance(node, ast.expr) and type(node) not in checker.nodes:
            raise ExprError(f"no {type(node).__name__} (not supported in conditions)")
        if isinstance(node, ast.BinOp | ast.UnaryOp) and type(node.op) not in checker.operators:
            raise ExprError(f"no operator {type(node.op).__name__}")
        if isinstance(node, ast.Compare):
            for op in node.ops:
                if type(op) not in checker.operators:
                    raise ExprError(f"no operator {type(op).__name__}")
        if isinstance(node, ast.Name) and node.id not in scope.names | local | functions:
            known = ", ".join(sorted(scope.names - {"True", "False", "None"}))
            raise ExprError(f"a known name, not '{node.id}' (known: {known})")
        if isinstance(node, ast.Attribute):
            if forbidden_attr(node.attr):
                raise ExprError(f"no access to '{node.attr}'")
            reads_param = isinstance(node.value, ast.Name) and node.value.id == "params"
            if reads_param and node.attr not in scope.params:
                raise ExprError(f"a declared parameter, not params.{node.attr}")
        if isinstance(node, ast.Call):
            _check_call(node, scope, functions)
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
        if is_text and len(node.value) > MAX_STRING_LENGTH:  # type: ignore[attr-defined]
            raise ExprError(f"a literal of at most {MAX_STRING_LENGTH} characters")


def _check_call(node: ast.Call, scope: Scope, functions: set[str]) -> None:
    if isinstance(node.func, ast.Attribute):
        return  # a method; limited per type at evaluation time
    if not isinstance(node.func, ast.Name) or node.func.id not in functions:
        name = node.func.id if isinstance(node.func, ast.Name) else "this call"
        raise ExprError(f"a known function, not '{name}' (known: {', '.join(sorted(functions))})")
    if node.func.id in WINDOW_FUNCTIONS:
        first = node.args[0] if node.args else None
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
            raise ExprError(f"{node.func.id}('window-id', key): the window id as a quoted name")
        window = first.value
        if window not in scope.windows:
            known = ", ".join(sorted(scope.windows)) or "none"
            raise ExprError(f"an existing window, not '{window}' (known: {known})")
        if len(node.args) > 2:
            raise ExprError(f"{node.func.id}('window-id', key) with at most two arguments")


def container_ids(value: Any) -> frozenset[int]:
    """Ids of `value` and of every dict/list inside it (params: data that never changes)."""
    found: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list | tuple):
            found.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return frozenset(found)


def static_checker() -> Evaluator:
    """An evaluator used only to check expressions at load (its functions are placeholders)."""
    placeholders: dict[str, Callable[..., Any]] = dict(PURE_FUNCTIONS)
    for name in WINDOW_FUNCTIONS | STATE_FUNCTIONS:
        placeholders[name] = _placeholder
    return Evaluator(placeholders)


def _placeholder(*_args: Any) -> None:
    return None
