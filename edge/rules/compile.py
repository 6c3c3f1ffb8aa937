"""Typed rule-file records -> compiled rules and windows, checked against params and windows.

Errors are raised as `RuleError(tokens, expected, got)`, where `tokens` is the path of the
offending value in the file (`["rules", 2, "when"]`); the loader turns that into a line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal

import msgspec

from edge.errors import ConfigError, EdgeError
from edge.rules.actions import (
    Action,
    AlertAction,
    CommandAction,
    DropAction,
    EmitAction,
    ForwardAction,
    StateAction,
)
from edge.rules.conditions import (
    EVENT_NAMES,
    Expr,
    ExprError,
    Scope,
    compile_expr,
    static_checker,
)
from edge.rules.prefilter import lift
from edge.rules.ruleset import DebounceDef, GateDef, Rule, RuleSet, Trigger, WindowDef
from edge.rules.schedules import parse_duration, parse_schedule
from edge.rules.schema import (
    ActionSpec,
    DebounceSpec,
    Duration,
    GateSpec,
    RuleSpec,
    StateSpec,
    TriggerSpec,
    WindowSpec,
)
from edge.rules.templates import (
    Template,
    TemplateError,
    compile_template,
    compile_value,
    templates_in,
)

PARAMS_FILE = "[rules.params]"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_EVENT_PATTERN = re.compile(r"^[A-Za-z0-9_.*?\[\]-]+$")

Tokens = list[str | int]


class RuleError(EdgeError):
    """A value in a rule file is wrong; `tokens` locate it, `expected` says what was wanted."""

    def __init__(self, tokens: Tokens, expected: str, got: object = None) -> None:
        self.tokens = tokens
        self.expected = expected
        self.got = got
        super().__init__(expected)


def merge_params(declared: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The declared params with the hub config's overrides applied (mappings merged one level)."""
    merged = dict(declared)
    for key, value in overrides.items():
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ConfigError(
                PARAMS_FILE, key, f"a parameter declared by the rule files (known: {known})"
            )
        default = declared[key]
        if isinstance(default, bool) or isinstance(value, bool):
            ok = isinstance(default, bool) and isinstance(value, bool)
        elif isinstance(default, int | float):
            ok = isinstance(value, int | float)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise ConfigError(PARAMS_FILE, key, f"a value of type {type(default).__name__}", value)
        merged[key] = {**default, **value} if isinstance(default, dict) else value
    return merged


class Compiler:
    """Collects compiled windows and rules from the files of one load."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params
        self.checker = static_checker()
        self.window_where: dict[str, str] = {}
        self.rule_where: dict[str, str] = {}
        self.windows: list[WindowDef] = []
        self.rules: list[Rule] = []

    def declare_window(self, window_id: str, file: str, line: int) -> None:
        """Make a window id known before any rule is compiled (rules may come first)."""
        if window_id in self.window_where:
            raise ConfigError(
                file,
                f"line {line}: window {window_id}: id",
                f"a window id used once (already used at {self.window_where[window_id]})",
            )
        self.window_where[window_id] = f"{file} line {line}"

    def _scope(self, extra: Sequence[str] = ()) -> Scope:
        return Scope(
            names=EVENT_NAMES | frozenset(extra),
            params=frozenset(self.params),
            windows=frozenset(self.window_where),
        )

    def _expr(self, source: str, scope: Scope, tokens: Tokens) -> Expr:
        try:
            return compile_expr(source, scope, self.checker)
        except ExprError as exc:
            raise RuleError(tokens, str(exc), source) from None

    def _template(self, text: str, scope: Scope, tokens: Tokens) -> Template:
        try:
            template = compile_template(text)
        except TemplateError as exc:
            raise RuleError(tokens, str(exc), text) from None
        self._check_fields([template], scope, tokens)
        return template

    def _value(self, value: Any, scope: Scope, tokens: Tokens) -> Any:
        try:
            compiled = compile_value(value)
        except TemplateError as exc:
            raise RuleError(tokens, str(exc)) from None
        self._check_fields(templates_in(compiled), scope, tokens)
        return compiled

    def _check_fields(self, templates: list[Template], scope: Scope, tokens: Tokens) -> None:
        for template in templates:
            for path in template.fields:
                if path[0] not in scope.names:
                    known = ", ".join(sorted(scope.names - {"True", "False", "None"}))
                    raise RuleError(
                        tokens, f"a known name in {{{'.'.join(path)}}} (known: {known})"
                    )
                if path[0] == "params" and (len(path) < 2 or path[1] not in self.params):
                    raise RuleError(tokens, f"a declared parameter in {{{'.'.join(path)}}}")

    def _duration(self, value: Duration, tokens: Tokens) -> float:
        try:
            if isinstance(value, str) and "{" in value:
                value = compile_template(value).render({"params": self.params})
            return parse_duration(value)
        except (ValueError, TemplateError) as exc:
            raise RuleError(tokens, str(exc), value) from None

    def _trigger(
        self, spec: str | list[str] | TriggerSpec, tokens: Tokens, allow_schedule: bool
    ) -> Trigger:
        if isinstance(spec, str):
            spec = TriggerSpec(events=[spec])
        elif isinstance(spec, list):
            spec = TriggerSpec(events=spec)
        for i, pattern in enumerate(spec.events):
            if not _EVENT_PATTERN.match(pattern):
                raise RuleError(
                    [*tokens, "events", i],
                    "an event type pattern like rating.submitted or queue.*",
                    pattern,
                )
        schedule = None
        if spec.schedule is not None:
            if not allow_schedule:
                raise RuleError([*tokens, "schedule"], "events only (a window is fed by events)")
            if spec.events or spec.devices or spec.groups:
                raise RuleError(
                    [*tokens, "schedule"], "either a schedule or events/devices/groups, not both"
                )
            try:
                schedule = parse_schedule(spec.schedule)
            except ValueError as exc:
                raise RuleError([*tokens, "schedule"], str(exc), spec.schedule) from None
        elif not spec.events:
            raise RuleError(
                tokens,
                "at least one event type pattern" + (" or a schedule" if allow_schedule else ""),
            )
        if spec.data and schedule is not None:
            raise RuleError(
                [*tokens, "data"], "no field filter on a scheduled rule (there is no event)"
            )
        filters: list[tuple[str, tuple[Any, ...]]] = []
        for name, accepted in spec.data.items():
            values = tuple(accepted) if isinstance(accepted, list) else (accepted,)
            for v in values:
                if not isinstance(v, str | int | float | bool) and v is not None:
                    raise RuleError(
                        [*tokens, "data", name],
                        "a value or a list of values (text, number, true/false)",
                        v,
                    )
            filters.append((name, values))
        return Trigger(
            tuple(spec.events), tuple(spec.devices), tuple(spec.groups), schedule, tuple(filters)
        )

    def _id(self, ident: str, tokens: Tokens) -> None:
        if not _ID.match(ident):
            raise RuleError(
                [*tokens, "id"], "an id of letters, digits and - _ . : (no spaces)", ident
            )

    def add_window(self, spec: WindowSpec, file: str, tokens: Tokens, line: int) -> None:
        """Compile one window."""
        self._id(spec.id, tokens)
        scope = self._scope()
        trigger = self._trigger(spec.trigger, [*tokens, "trigger"], allow_schedule=False)
        if spec.max_items < 1:
            raise RuleError([*tokens, "max_items"], "at least 1", spec.max_items)
        window = WindowDef(
            id=spec.id,
            description=spec.description,
            file=file,
            line=line,
            trigger=trigger,
            key=None if spec.key is None else self._expr(spec.key, scope, [*tokens, "key"]),
            value=None if spec.value is None else self._expr(spec.value, scope, [*tokens, "value"]),
            when=None if spec.when is None else self._expr(spec.when, scope, [*tokens, "when"]),
            kind=spec.kind,
            period=self._duration(spec.period, [*tokens, "period"]),
            max_items=spec.max_items,
            # Stored values keep their meaning while trigger, key, value and filter stay.
            signature=msgspec.json.encode(
                [spec.kind, spec.trigger, spec.key, spec.value, spec.when]
            ).decode(),
        )
        self.windows.append(window)

    def add_rule(self, spec: RuleSpec, file: str, tokens: Tokens, line: int) -> None:
        """Compile one rule (skipped if `enabled: false`, but still checked)."""
        self._id(spec.id, tokens)
        if spec.id in self.rule_where:
            raise RuleError(
                [*tokens, "id"],
                f"a rule id used once (already used at {self.rule_where[spec.id]})",
                spec.id,
            )
        if not spec.description.strip():
            raise RuleError([*tokens, "description"], "a description saying what the rule is for")
        trigger = self._trigger(spec.trigger, [*tokens, "trigger"], allow_schedule=True)
        var_names: list[str] = []
        compiled_vars: dict[str, Expr] = {}
        for name, source in spec.vars.items():
            if not name.isidentifier() or name.startswith("_") or name in EVENT_NAMES:
                raise RuleError(
                    [*tokens, "vars", name],
                    "a variable name that is not an event name (data, type, ...)",
                    name,
                )
            # A var may read the vars above it only: no cycles.
            compiled_vars[name] = self._expr(
                source, self._scope(var_names), [*tokens, "vars", name]
            )
            var_names.append(name)
        scope = self._scope(var_names)
        when = None if spec.when is None else self._expr(spec.when, scope, [*tokens, "when"])
        debounce = None
        if spec.debounce is not None:
            if trigger.schedule is not None:
                raise RuleError([*tokens, "debounce"], "no debounce on a scheduled rule")
            debounce = self._debounce(spec.debounce, scope, [*tokens, "debounce"])
        actions = tuple(
            self._action(a, scope, [*tokens, "actions", i]) for i, a in enumerate(spec.actions)
        )
        dedupe = self._gate(spec.dedupe, scope, [*tokens, "dedupe"])
        throttle = self._gate(spec.throttle, scope, [*tokens, "throttle"])
        rule = Rule(
            id=spec.id,
            description=spec.description.strip(),
            file=file,
            line=line,
            trigger=trigger,
            vars=MappingProxyType(compiled_vars),
            when=when,
            # Vars are computed on first use, so lifted field tests can never skip an error.
            prefilter=lift(when) if when is not None else (),
            dedupe=dedupe,
            throttle=throttle,
            debounce=debounce,
            actions=actions,
        )
        self.rule_where[spec.id] = f"{file} line {line}"
        if spec.enabled:
            self.rules.append(rule)

    def _gate(self, spec: GateSpec | None, scope: Scope, tokens: Tokens) -> GateDef | None:
        if spec is None:
            return None
        key = None if spec.key is None else self._expr(spec.key, scope, [*tokens, "key"])
        return GateDef(self._duration(spec.period, [*tokens, "period"]), key)

    def _debounce(self, spec: DebounceSpec, scope: Scope, tokens: Tokens) -> DebounceDef:
        key = None if spec.key is None else self._expr(spec.key, scope, [*tokens, "key"])
        for i, pattern in enumerate(spec.cancel_on):
            if not _EVENT_PATTERN.match(pattern):
                raise RuleError([*tokens, "cancel_on", i], "an event type pattern", pattern)
        period = self._duration(spec.period, [*tokens, "period"])
        return DebounceDef(period, key, tuple(spec.cancel_on), spec.restart)

    def _action(self, spec: str | ActionSpec, scope: Scope, tokens: Tokens) -> Action:
        if isinstance(spec, str):
            if spec == "drop":
                return DropAction()
            if spec == "forward":
                return ForwardAction()
            raise RuleError(
                tokens, "drop, forward, or a mapping with command, alert, emit or state", spec
            )
        chosen = [
            n for n in ("command", "alert", "emit", "state") if getattr(spec, n) is not None
        ] + [n for n in ("drop", "forward") if getattr(spec, n)]
        if len(chosen) != 1:
            raise RuleError(
                tokens, "exactly one of command, alert, emit, state, drop, forward", chosen or None
            )
        if spec.command is not None:
            c = spec.command
            if not c.name.strip():
                raise RuleError(
                    [*tokens, "command", "name"], "a command name like display.show_call"
                )
            return CommandAction(
                device=self._template(c.device, scope, [*tokens, "command", "device"]),
                name=c.name,
                args=self._value(c.args, scope, [*tokens, "command", "args"]),
            )
        if spec.alert is not None:
            a = spec.alert
            return AlertAction(
                severity=a.severity,
                message=self._template(a.message, scope, [*tokens, "alert", "message"]),
                subject=self._template(a.subject, scope, [*tokens, "alert", "subject"]),
            )
        if spec.emit is not None:
            e = spec.emit
            if not _ID.match(e.type):
                raise RuleError(
                    [*tokens, "emit", "type"], "an event type like service.note", e.type
                )
            return EmitAction(
                type=e.type,
                device=self._template(e.device, scope, [*tokens, "emit", "device"]),
                data=self._value(e.data, scope, [*tokens, "emit", "data"]),
            )
        if spec.state is not None:
            return self._state(spec.state, scope, [*tokens, "state"])
        return DropAction() if spec.drop else ForwardAction()

    def _state(self, spec: StateSpec, scope: Scope, tokens: Tokens) -> StateAction:
        ops: list[tuple[Literal["set", "increment", "unset"], str]] = []
        for op in ("set", "increment", "unset"):
            name = getattr(spec, op)
            if name is not None:
                ops.append((op, name))
        if len(ops) != 1:
            raise RuleError(tokens, "exactly one of set, increment, unset")
        op, name = ops[0]
        template = self._template(name, scope, [*tokens, op])
        raw: Any = spec.by if op == "increment" else spec.value
        if op == "set" and spec.value is None:
            raise RuleError([*tokens, "value"], "a value (an expression, or a number/true/false)")
        field = "by" if op == "increment" else "value"
        value = self._expr(raw, scope, [*tokens, field]) if isinstance(raw, str) else raw
        return StateAction(op=op, name=template, value=value)

    def result(self, files: tuple[str, ...]) -> RuleSet:
        """The compiled RuleSet."""
        return RuleSet(
            rules=tuple(self.rules),
            windows=tuple(self.windows),
            params=MappingProxyType(dict(self.params)),
            files=files,
        )
