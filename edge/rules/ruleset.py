"""Compiled rules and windows: what the loader produces and the engine runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Any

from edge.rules.actions import Action, DropAction, ForwardAction
from edge.rules.conditions import Expr
from edge.rules.prefilter import FieldTest
from edge.rules.schedules import Schedule

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Trigger:
    """Which events (type patterns, device patterns, groups) or which schedule start a rule."""

    events: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    schedule: Schedule | None = None
    data: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # field -> accepted values

    def matches_data(self, data: Mapping[str, Any]) -> bool:
        """True if every field filter holds (a missing field never matches)."""
        for name, accepted in self.data:
            value = data.get(name, _MISSING)
            if value is _MISSING or value not in accepted:
                return False
        return True

    def matches_type(self, event_type: str) -> bool:
        """True if `event_type` matches one of the patterns."""
        return any(fnmatchcase(event_type, p) for p in self.events)

    def matches_device(self, device_id: str, groups: Mapping[str, frozenset[str]]) -> bool:
        """True if no device filter is set, or the device matches a pattern or is in a group."""
        if not self.devices and not self.groups:
            return True
        if any(fnmatchcase(device_id, p) for p in self.devices):
            return True
        return any(device_id in groups.get(g, ()) for g in self.groups)


@dataclass(frozen=True, slots=True)
class GateDef:
    period: float
    key: Expr | None


@dataclass(frozen=True, slots=True)
class DebounceDef:
    period: float
    key: Expr | None
    cancel_on: tuple[str, ...]
    restart: bool


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """One compiled rule; `file` and `line` say where it was written."""

    id: str
    description: str
    file: str
    line: int
    trigger: Trigger
    vars: Mapping[str, Expr]  # computed on first use (RuleNames), all of them before actions
    when: Expr | None
    prefilter: tuple[FieldTest, ...]  # leading field tests of `when`, checked by lookups first
    dedupe: GateDef | None
    throttle: GateDef | None
    debounce: DebounceDef | None
    actions: tuple[Action, ...]

    drops: bool = False  # the rule drops the event from the uplink
    forwards: bool = False  # the rule explicitly forwards it (wins over a drop)

    def __post_init__(self) -> None:
        object.__setattr__(self, "drops", any(isinstance(a, DropAction) for a in self.actions))
        object.__setattr__(
            self, "forwards", any(isinstance(a, ForwardAction) for a in self.actions)
        )

    def cancelled_by(self, event_type: str) -> bool:
        """True if events of this type cancel the rule's pending (debounced) firings."""
        return self.debounce is not None and any(
            fnmatchcase(event_type, p) for p in self.debounce.cancel_on
        )


@dataclass(frozen=True, slots=True, eq=False)
class WindowDef:
    """One compiled window. `signature` covers what its stored values mean."""

    id: str
    description: str
    file: str
    line: int
    trigger: Trigger
    key: Expr | None
    value: Expr | None
    when: Expr | None
    kind: str
    period: float
    max_items: int
    signature: str


@dataclass(frozen=True, slots=True, eq=False)
class RuleSet:
    """Everything loaded from the rule files: rules, windows and the merged params."""

    rules: tuple[Rule, ...] = ()
    windows: tuple[WindowDef, ...] = ()
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    files: tuple[str, ...] = ()

    @classmethod
    def empty(cls) -> RuleSet:
        """A rule set with no rules (every event is forwarded)."""
        return cls()

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, if loaded."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        return None
