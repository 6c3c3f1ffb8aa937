"""The structure of a rule file, as typed msgspec records (validated once, at load).

A rule file is YAML with three optional top-level keys: `params` (named defaults that the
hall config may override), `windows` (per-key aggregates fed by events) and `rules`.
The loader turns these records into the compiled objects of `ruleset.py`; nothing here
evaluates anything.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every rule-file record: unknown keys are errors, so typos are caught."""


# A duration is "90s", "10m", "1h", "1d", "1h30m", a number of seconds, or a template
# over params such as "{params.offline_min}m".
Duration = str | int | float


class TriggerSpec(Spec, frozen=True, kw_only=True):
    events: list[str] = []  # event type patterns, fnmatch wildcards: "queue.*", "*.status"
    devices: list[str] = []  # device id patterns; empty = any device
    groups: list[str] = []  # device groups of the hub config; empty = any group
    schedule: str | None = None  # "daily 18:00", "weekdays 08:30", "every 5m" (hall time zone)
    # Field filters checked before any condition: {paper: near_end} or {paper: [near_end, end]}.
    # Cheap (plain lookups), so prefer them to `when` for "field equals value" tests.
    data: dict[str, Any] = {}


class GateSpec(Spec, frozen=True, kw_only=True):
    period: Duration
    key: str | None = None  # expression; None = one key for the whole rule


class DebounceSpec(Spec, frozen=True, kw_only=True):
    period: Duration
    key: str | None = None
    cancel_on: list[str] = []  # event type patterns that cancel a pending firing of the key
    restart: bool = True  # a new match restarts the timer (False: "for at least" semantics)


class CommandSpec(Spec, frozen=True, kw_only=True):
    device: str  # device id, "group:NAME", or a template of either
    name: str
    args: dict[str, Any] = {}


class AlertSpec(Spec, frozen=True, kw_only=True):
    message: str
    severity: Literal["info", "warning", "critical"] = "warning"
    subject: str = ""


class EmitSpec(Spec, frozen=True, kw_only=True):
    type: str
    device: str = "hub"
    data: dict[str, Any] = {}


class StateSpec(Spec, frozen=True, kw_only=True):
    set: str | None = None  # name (template) to set to `value`
    increment: str | None = None  # name (template) to increase by `by`
    unset: str | None = None  # name (template) to forget
    value: str | int | float | bool | None = None  # an expression when a string
    by: str | int | float = 1  # an expression when a string


class ActionSpec(Spec, frozen=True, kw_only=True):
    command: CommandSpec | None = None
    alert: AlertSpec | None = None
    emit: EmitSpec | None = None
    state: StateSpec | None = None
    drop: bool = False
    forward: bool = False


class RuleSpec(Spec, frozen=True, kw_only=True):
    id: str
    description: str
    trigger: str | list[str] | TriggerSpec
    vars: dict[str, str] = {}  # name -> expression, evaluated in order before `when`
    when: str | None = None
    dedupe: GateSpec | None = None
    throttle: GateSpec | None = None
    debounce: DebounceSpec | None = None
    actions: list[str | ActionSpec] = []  # "drop" / "forward" or one-key mappings
    enabled: bool = True


class WindowSpec(Spec, frozen=True, kw_only=True):
    id: str
    trigger: str | list[str] | TriggerSpec
    period: Duration
    description: str = ""
    key: str | None = None  # expression; None = one key
    value: str | None = None  # expression; None = 1 (a pure count)
    when: str | None = None
    kind: Literal["sliding", "tumbling"] = "sliding"
    max_items: int = 10_000  # per key, sliding windows only: bounds memory


class RuleFileSpec(Spec, frozen=True, kw_only=True):
    params: dict[str, Any] = {}
    windows: list[WindowSpec] = []
    rules: list[RuleSpec] = []
