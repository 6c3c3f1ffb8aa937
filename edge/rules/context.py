"""What the engine's event path and clock path share: memory, evaluator, names, traces.

`Scope` of an evaluation is a plain dict of names (`data`, `type`, `device_id`, `seq`,
`id`, `time` in the hall's zone, `params`, `state`, plus the rule's vars). The window
functions (`avg('counter-rating-1h', data.counter)`) read the windows at the moment the
context was last set to: the current event's time, or `now` in tick.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.errors import EdgeError
from edge.model import JournaledEvent
from edge.rules.actions import ActionRunner
from edge.rules.conditions import (
    PURE_FUNCTIONS,
    WINDOW_FUNCTIONS,
    Evaluator,
    Expr,
    container_ids,
)
from edge.rules.state import Memory
from edge.rules.traces import TraceBook, plain
from edge.rules.windows import Window

ENGINE_TRACE = "engine"  # trace id for failures outside any rule


def key_text(value: Any) -> str:
    """Keys of windows and gates are text: counter 3, "3" and 3.0 are the same key."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def event_ref(ev: JournaledEvent) -> dict[str, Any]:
    """How a trace names an event."""
    return {"seq": ev.seq, "id": ev.id, "type": ev.type, "device_id": ev.device_id}


def trace_entry(
    ref: dict[str, Any], at: float, result: str, values: dict[str, Any]
) -> dict[str, Any]:
    """A trace entry; `at` stays epoch seconds until read (formatting costs on the hot path)."""
    entry: dict[str, Any] = {"at": at, "event": ref, "result": result}
    if values:
        entry["values"] = plain(values)
    return entry


class VarError(EdgeError):
    """A rule var could not be computed (the message names the var)."""


class RuleNames(dict[str, Any]):
    """The names one rule sees: the event's, and the rule's vars, computed on first use.

    A var is evaluated when the condition, a gate key or a template first reads it, in
    the order the reads happen, so a condition that fails early never pays for (or trips
    over) a var it did not reach. `computed` keeps what was computed, for the trace.
    """

    __slots__ = ("_run", "_vars", "computed")

    def __init__(
        self,
        base: Mapping[str, Any],
        rule_vars: Mapping[str, Expr],
        run: Callable[[Expr, dict[str, Any]], Any],
    ) -> None:
        super().__init__(base)
        self._vars = rule_vars
        self._run = run
        self.computed: dict[str, Any] = {}

    def __missing__(self, key: str) -> Any:
        expr = self._vars.get(key)
        if expr is None:
            raise KeyError(key)
        try:
            value = self._run(expr, self)
        except Exception as exc:
            # Not a KeyError: simpleeval would take that for "no such name".
            raise VarError(f"var {key}: {type(exc).__name__}: {exc}") from None
        self[key] = self.computed[key] = value
        return value

    def compute_all(self) -> None:
        """Compute the vars not read yet (templates look names up without computing)."""
        for key in self._vars:
            if key not in self:
                self.__missing__(key)


class Context:
    """Memory, evaluator, action runner and trace book of one engine."""

    def __init__(
        self,
        hall_tz: ZoneInfo,
        device_groups: Mapping[str, frozenset[str]],
        trace_depth: int,
        strict_groups: bool,
    ) -> None:
        self.tz = hall_tz
        self.groups = dict(device_groups)
        self.mem = Memory(0, {}, {}, {}, {}, TraceBook(trace_depth))
        self.params: dict[str, Any] = {}
        self.windows: dict[str, Window] = {}
        functions: dict[str, Callable[..., Any]] = dict(PURE_FUNCTIONS)
        for aggregate in WINDOW_FUNCTIONS:
            functions[aggregate] = self._window_function(aggregate)
        functions["value"] = self._value
        self.eval = Evaluator(functions)
        self.runner = ActionRunner(self.eval, self.mem.values, self.groups, strict_groups)
        self.dirty = False
        self.q_now = 0.0  # the moment window queries refer to (epoch s)
        self.q_local = 0.0  # the same shifted by the hall's UTC offset (tumbling buckets)
        self.capture: list[tuple[str, dict[str, Any]]] | None = None

    def set_params(self, params: Mapping[str, Any]) -> None:
        """The params of a new rule set (a plain dict: faster to read than a mapping proxy)."""
        self.params = copy.deepcopy(dict(params))
        # Params never change while a rule set runs (conditions and templates only read
        # them), so the evaluator may skip its safety walk over their containers.
        self.eval.trusted_ids = container_ids(self.params)

    def set_clock(self, ts: float, local: datetime) -> None:
        """Window queries and traces refer to this moment from now on."""
        offset = local.utcoffset()
        self.q_now = ts
        self.q_local = ts + (offset.total_seconds() if offset is not None else 0.0)

    def names(
        self,
        data: Mapping[str, Any],
        local: datetime,
        *,
        etype: str,
        device: str,
        seq: int,
        ev_id: str,
    ) -> dict[str, Any]:
        """The names an expression or template sees for one event."""
        values = self.mem.values
        self.eval.trusted = (data, values)
        return {
            "data": data,
            "type": etype,
            "device_id": device,
            "seq": seq,
            "id": ev_id,
            "time": local,
            "params": self.params,
            "state": values,
        }

    def gate_key(self, expr: Expr | None, names: dict[str, Any]) -> str:
        """The throttle/dedupe/debounce key of a match ("" when the rule has no key)."""
        return "" if expr is None else key_text(self.eval.run(expr, names))

    def trace(self, rule_id: str, entry: dict[str, Any]) -> None:
        """Record a trace entry (and hand it to a dry run's capture list)."""
        self.mem.traces.add(rule_id, entry)
        self.dirty = True
        if self.capture is not None:
            self.capture.append((rule_id, entry))

    def _window_function(self, aggregate: str) -> Callable[..., Any]:
        def query(window_id: str, key: Any = None) -> Any:
            window = self.windows.get(window_id)
            if window is None:
                raise KeyError(f"no window '{window_id}' in the loaded rules")
            t = self.q_local if window.kind == "tumbling" else self.q_now
            return window.query("" if key is None else key_text(key), t, aggregate)

        query.__name__ = aggregate
        return query

    def _value(self, name: str, default: Any = None) -> Any:
        return self.mem.values.get(str(name), default)
