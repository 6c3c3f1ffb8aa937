"""The engine's memory between events, and its blob form for the journal DB.

What survives a restart: window contents, throttle/dedupe memories, pending debounced
firings, the next time of each schedule, named values, traces, and the last event seq seen.
A reload (`replace`) keeps all of this for rules and windows whose id is unchanged (a
window also needs the same trigger, key, value and filter, or its values would lie).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from edge.errors import StoreError
from edge.rules.ruleset import Rule, WindowDef
from edge.rules.throttle import Debouncer, Gate
from edge.rules.traces import TraceBook
from edge.rules.windows import SlidingWindow, TumblingWindow, Window

STATE_VERSION = 1


@dataclass(slots=True)
class RuleState:
    """Throttle, dedupe, debounce and schedule memory of one rule."""

    dedupe: Gate | None
    throttle: Gate | None
    debounce: Debouncer | None
    schedule: str | None
    next_due: float | None = None

    @classmethod
    def build(cls, rule: Rule, old: RuleState | None) -> RuleState:
        """Fresh state for `rule`, carrying over what `old` (same rule id) remembered."""
        dedupe = throttle = None
        debounce = None
        if rule.dedupe is not None:
            dedupe = Gate(rule.dedupe.period, refresh=True)
            if old is not None and old.dedupe is not None:
                dedupe.last = old.dedupe.last
        if rule.throttle is not None:
            throttle = Gate(rule.throttle.period, refresh=False)
            if old is not None and old.throttle is not None:
                throttle.last = old.throttle.last
        if rule.debounce is not None:
            debounce = Debouncer(rule.debounce.period, rule.debounce.restart)
            if old is not None and old.debounce is not None:
                debounce.pending = old.debounce.pending
        schedule = rule.trigger.schedule.text if rule.trigger.schedule is not None else None
        keep_due = old is not None and old.schedule == schedule
        return cls(dedupe, throttle, debounce, schedule, old.next_due if keep_due and old else None)

    def dump(self) -> dict[str, Any]:
        """Plain data for the state blob."""
        out: dict[str, Any] = {}
        if self.dedupe is not None:
            out["dedupe"] = self.dedupe.last
        if self.throttle is not None:
            out["throttle"] = self.throttle.last
        if self.debounce is not None:
            out["pending"] = self.debounce.dump()
        if self.schedule is not None:
            out["schedule"] = self.schedule
            out["next_due"] = self.next_due
        return out

    def load(self, data: dict[str, Any]) -> None:
        """Restore what `dump` returned (parts the rule no longer has are ignored)."""
        if self.dedupe is not None:
            self.dedupe.last = {str(k): float(v) for k, v in data.get("dedupe", {}).items()}
        if self.throttle is not None:
            self.throttle.last = {str(k): float(v) for k, v in data.get("throttle", {}).items()}
        if self.debounce is not None:
            self.debounce.load(data.get("pending", {}))
        if self.schedule is not None and data.get("schedule") == self.schedule:
            due = data.get("next_due")
            self.next_due = None if due is None else float(due)


def new_window(w: WindowDef) -> Window:
    """An empty window for a definition."""
    if w.kind == "tumbling":
        return TumblingWindow(w.period)
    return SlidingWindow(w.period, w.max_items)


def carry_window(w: WindowDef, old: Window | None, old_signature: str | None) -> Window:
    """The window for `w`, reusing `old` when its stored values still mean the same thing."""
    if old is None or old_signature != w.signature or old.kind != w.kind:
        return new_window(w)
    old.period = w.period
    if isinstance(old, SlidingWindow):
        old.max_items = w.max_items
    return old


@dataclass(slots=True)
class Memory:
    """Everything the engine remembers; `encode`/`decode` give the journal blob."""

    last_seq: int
    values: dict[str, Any]
    windows: dict[str, Window]
    window_signatures: dict[str, str]
    rules: dict[str, RuleState]
    traces: TraceBook

    def encode(self) -> bytes:
        """The state blob (JSON, versioned)."""
        state = {
            "v": STATE_VERSION,
            "last_seq": self.last_seq,
            "values": self.values,
            "windows": {
                wid: {"sig": self.window_signatures.get(wid, ""), "kind": w.kind, "data": w.dump()}
                for wid, w in self.windows.items()
            },
            "rules": {rid: st.dump() for rid, st in self.rules.items()},
            "traces": self.traces.dump(),
        }
        return msgspec.json.encode(state, enc_hook=str)

    def decode(self, blob: bytes) -> None:
        """Restore from a blob: state of known rules/windows; traces of every rule in it."""
        try:
            state = msgspec.json.decode(blob)
        except msgspec.DecodeError as exc:
            raise StoreError(f"rule state blob is not readable: {exc}") from None
        if not isinstance(state, dict) or state.get("v") != STATE_VERSION:
            got = state.get("v") if isinstance(state, dict) else type(state).__name__
            raise StoreError(f"rule state blob has version {got!r}, expected {STATE_VERSION}")
        try:
            self.last_seq = int(state.get("last_seq", 0))
            self.values.clear()
            self.values.update(state.get("values", {}))
            for wid, saved in state.get("windows", {}).items():
                window = self.windows.get(wid)
                if (
                    window is not None
                    and saved.get("sig") == self.window_signatures.get(wid)
                    and saved.get("kind") == window.kind
                ):
                    window.load(saved.get("data", {}))
            for rid, saved in state.get("rules", {}).items():
                if rid in self.rules:
                    self.rules[rid].load(saved)
            self.traces.load(state.get("traces", {}))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"rule state blob is malformed: {exc!r}") from None
