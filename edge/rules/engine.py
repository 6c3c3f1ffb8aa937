"""The rules engine: for every journaled event, which rules fire and what they ask for.

Hot path (`evaluate`): the event type is looked up in a per-type route (the windows that
collect it, the rules it triggers, the rules it cancels), built once per type from the
wildcard patterns. Events that concern no rule cost one dict lookup. Field filters
(`trigger.data`) are plain lookups; conditions are pre-parsed simpleeval ASTs; templates
are pre-split.

Loop guard: every event a rule makes carries the rule's id in `data.rule` (alerts by the
contract, emitted events by the engine), and a rule never runs on an event whose
`data.rule` is its own id. Chains through several rules are cut by depth: the engine
remembers how deep each derived event is (through `causation`) and runs no rule on an
event more than `MAX_CHAIN` steps from a device event.

Idempotence: the engine remembers the last seq it evaluated (in its state blob, saved
with the journal); events at or below it are not evaluated again. Replayed events above
it are evaluated (state, alerts, derived events) but send no commands: a display call or
a robot greeting an hour late would do harm.

Nothing here raises into the hub: a failing rule or action is recorded in its trace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.errors import ConfigError
from edge.model import HUB_DEVICE, Command, Event, JournaledEvent, Output
from edge.rules.actions import ALERT_TYPE, Firing
from edge.rules.clock import Clock
from edge.rules.conditions import Expr
from edge.rules.context import (
    ENGINE_TRACE,
    Context,
    RuleNames,
    event_ref,
    key_text,
    trace_entry,
)
from edge.rules.loader import load_ruleset
from edge.rules.prefilter import passes
from edge.rules.ruleset import Rule, RuleSet, WindowDef
from edge.rules.state import RuleState, carry_window
from edge.rules.throttle import Gate
from edge.rules.traces import plain

MAX_CHAIN = 8
_DEPTH_MEMORY = 4096


@dataclass(slots=True)
class Decision:
    """What the hub does with one event: forward it to the cloud or not, and the outputs."""

    forward: bool
    outputs: list[Output]


@dataclass(frozen=True, slots=True)
class _Route:
    windows: tuple[WindowDef, ...]
    rules: tuple[Rule, ...]
    cancels: tuple[Rule, ...]


_NO_ROUTE = _Route((), (), ())


class RuleEngine:
    """Runs a RuleSet on journaled events and on the clock; remembers state across restarts.

    Not thread-safe: every call (evaluate, tick, replace, dump_state, traces...) must come
    from one thread, or be serialised by the caller.
    """

    name = "rules"

    def __init__(
        self,
        ruleset: RuleSet,
        hall_tz: ZoneInfo,
        device_groups: Mapping[str, frozenset[str]],
        trace_depth: int = 20,
        *,
        strict_groups: bool = True,
    ) -> None:
        """`strict_groups=False` (dry runs without a hub config) keeps `group:X` symbolic."""
        self._ctx = Context(hall_tz, device_groups, trace_depth, strict_groups)
        self._clock = Clock(self._ctx)
        self.firings: dict[str, int] = {}  # by rule id, since start (for the metrics)
        self._depths: dict[int, int] = {}
        self._install(ruleset)

    # ----------------------------------------------------------------- rule set
    @property
    def ruleset(self) -> RuleSet:
        """The rules running now."""
        return self._ruleset

    def replace(self, ruleset: RuleSet) -> None:
        """Hot reload: run `ruleset` from now on, keeping the state of unchanged rule ids."""
        self._install(ruleset)
        keep = [r.id for r in ruleset.rules] + [f"window:{w.id}" for w in ruleset.windows]
        self._ctx.mem.traces.keep_only([*keep, ENGINE_TRACE])
        self._ctx.dirty = True

    def _install(self, ruleset: RuleSet) -> None:
        ctx = self._ctx
        mem = ctx.mem
        self._ruleset = ruleset
        ctx.set_params(ruleset.params)
        mem.rules = {r.id: RuleState.build(r, mem.rules.get(r.id)) for r in ruleset.rules}
        mem.windows = {
            w.id: carry_window(w, mem.windows.get(w.id), mem.window_signatures.get(w.id))
            for w in ruleset.windows
        }
        mem.window_signatures = {w.id: w.signature for w in ruleset.windows}
        ctx.windows = mem.windows
        self._routes: dict[str, _Route] = {}
        self._clock.install(ruleset.rules)

    def _route(self, event_type: str) -> _Route:
        rs = self._ruleset
        windows = tuple(w for w in rs.windows if w.trigger.matches_type(event_type))
        rules = tuple(r for r in rs.rules if r.trigger.matches_type(event_type))
        cancels = tuple(r for r in rs.rules if r.cancelled_by(event_type))
        route = _Route(windows, rules, cancels) if windows or rules or cancels else _NO_ROUTE
        if len(self._routes) > 10_000:
            self._routes.clear()  # bound memory if a device invents event types
        self._routes[event_type] = route
        return route

    # ----------------------------------------------------------------- events
    def evaluate(self, ev: JournaledEvent) -> Decision:
        """Run the rules on one journaled event; never raises (failures go to traces)."""
        try:
            return self._evaluate(ev)
        except Exception as exc:
            entry = trace_entry(event_ref(ev), self._ctx.q_now, "error", {})
            entry["errors"] = [f"{type(exc).__name__}: {exc}"]
            self._ctx.trace(ENGINE_TRACE, entry)
            return Decision(True, [])

    @property
    def last_seq(self) -> int:
        """The hallseq of the last event the engine's state has seen."""
        return self._ctx.mem.last_seq

    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        """Service protocol: the outputs of `evaluate`."""
        return self.evaluate(event).outputs

    def _evaluate(self, ev: JournaledEvent) -> Decision:
        ctx = self._ctx
        seq = ev.seq
        if seq <= ctx.mem.last_seq:
            return Decision(True, [])
        ctx.mem.last_seq = seq
        ctx.dirty = True
        route = self._routes.get(ev.type)
        if route is None:
            route = self._route(ev.type)
        if route is _NO_ROUTE:
            return Decision(True, [])
        depth = 0
        if ev.causation is not None:
            depth = self._depths.get(ev.causation, 0) + 1
            self._depths[seq] = depth
            if len(self._depths) > _DEPTH_MEMORY:
                del self._depths[next(iter(self._depths))]
        local = ev.time.astimezone(ctx.tz)
        ts = ev.time.timestamp()
        ctx.set_clock(ts, local)
        data = ev.data
        names = ctx.names(data, local, etype=ev.type, device=ev.device_id, seq=seq, ev_id=ev.id)
        for w in route.windows:
            self._feed(w, ev, names, ts)
        for rule in route.cancels:
            self._cancel(rule, ev, names, ts)
        outputs: list[Output] = []
        drop = forward = False
        origin = data.get("rule")
        for rule in route.rules:
            trigger = rule.trigger
            if rule.id == origin or (trigger.data and not trigger.matches_data(data)):
                continue
            if rule.prefilter and not passes(rule.prefilter, data):
                continue
            if (trigger.devices or trigger.groups) and not trigger.matches_device(
                ev.device_id, ctx.groups
            ):
                continue
            if depth > MAX_CHAIN:
                entry = trace_entry(event_ref(ev), ts, "suppressed:chain", {})
                entry["errors"] = [f"the event is {depth} steps from a device event"]
                ctx.trace(rule.id, entry)
                continue
            if self._match(rule, names, ev, ts, outputs):
                drop = drop or rule.drops
                forward = forward or rule.forwards
        return Decision(forward or not drop, outputs)

    def _feed(self, w: WindowDef, ev: JournaledEvent, names: dict[str, Any], ts: float) -> None:
        ctx = self._ctx
        trigger = w.trigger
        if not trigger.matches_data(ev.data) or not trigger.matches_device(
            ev.device_id, ctx.groups
        ):
            return
        try:
            run = ctx.eval.run
            if w.when is not None and not run(w.when, names):
                return
            key = "" if w.key is None else key_text(run(w.key, names))
            value = 1.0 if w.value is None else run(w.value, names)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"value {value!r} is not a number")
            t = ctx.q_local if w.kind == "tumbling" else ts
            ctx.windows[w.id].add(key, t, float(value))
        except Exception as exc:
            entry = trace_entry(event_ref(ev), ts, "error", {})
            entry["errors"] = [f"{type(exc).__name__}: {exc}"]
            ctx.trace(f"window:{w.id}", entry)

    def _cancel(self, rule: Rule, ev: JournaledEvent, names: dict[str, Any], ts: float) -> None:
        ctx = self._ctx
        debouncer = ctx.mem.rules[rule.id].debounce
        if debouncer is None or rule.debounce is None or not debouncer.pending:
            return
        if not rule.trigger.matches_device(ev.device_id, ctx.groups):
            return
        try:
            key = ctx.gate_key(rule.debounce.key, names)
        except Exception as exc:
            entry = trace_entry(event_ref(ev), ts, "error", {})
            entry["errors"] = [f"debounce key: {type(exc).__name__}: {exc}"]
            ctx.trace(rule.id, entry)
            return
        if debouncer.cancel(key):
            ctx.trace(rule.id, trace_entry(event_ref(ev), ts, "cancelled", {"key": key}))

    def _match(
        self,
        rule: Rule,
        names: dict[str, Any],
        ev: JournaledEvent,
        ts: float,
        outputs: list[Output],
    ) -> bool:
        """Vars, condition, gates and actions of one rule on one event; True if it fired."""
        ctx = self._ctx
        state = ctx.mem.rules[rule.id]
        run = ctx.eval.run
        local_names = RuleNames(names, rule.vars, run) if rule.vars else names
        values: dict[str, Any] = local_names.computed if isinstance(local_names, RuleNames) else {}
        try:
            if rule.when is not None:
                if not run(rule.when, local_names):
                    return False
                values["when"] = True
            if rule.dedupe is not None and not self._admit(
                state.dedupe, rule.dedupe.key, local_names, ts
            ):
                ctx.trace(rule.id, trace_entry(event_ref(ev), ts, "suppressed:dedupe", values))
                return False
            if rule.debounce is not None and state.debounce is not None:
                key = ctx.gate_key(rule.debounce.key, local_names)
                due = state.debounce.match(key, ts, _snapshot(ev))
                if due is not None:
                    self._clock.due_at(due)
                    ctx.trace(
                        rule.id, trace_entry(event_ref(ev), ts, "pending", {**values, "key": key})
                    )
                return False
            if rule.throttle is not None and not self._admit(
                state.throttle, rule.throttle.key, local_names, ts
            ):
                ctx.trace(rule.id, trace_entry(event_ref(ev), ts, "suppressed:throttle", values))
                return False
            if isinstance(local_names, RuleNames):
                local_names.compute_all()
        except Exception as exc:
            entry = trace_entry(event_ref(ev), ts, "error", values)
            entry["errors"] = [f"{type(exc).__name__}: {exc}"]
            ctx.trace(rule.id, entry)
            return False
        firing = Firing(rule.id, local_names, ev.time, ev.seq, send_commands=not ev.replayed)
        self.firings[rule.id] = self.firings.get(rule.id, 0) + 1
        ctx.runner.run(rule.actions, firing)
        outputs.extend(firing.outputs)
        entry = trace_entry(event_ref(ev), ts, "fired", values)
        entry["actions"] = firing.done
        if firing.errors:
            entry["errors"] = firing.errors
        ctx.trace(rule.id, entry)
        return True

    def _admit(self, gate: Gate | None, key: Expr | None, names: dict[str, Any], ts: float) -> bool:
        return gate is None or gate.admit(self._ctx.gate_key(key, names), ts)

    # ----------------------------------------------------------------- clock
    def tick(self, now: datetime) -> list[Output]:
        """Schedules ("daily 18:00", "every 5m"), debounce expiries, housekeeping; never raises."""
        try:
            return self._clock.tick(now)
        except Exception as exc:
            entry = trace_entry({"type": "tick"}, now.timestamp(), "error", {})
            entry["errors"] = [f"{type(exc).__name__}: {exc}"]
            self._ctx.trace(ENGINE_TRACE, entry)
            return []

    # ----------------------------------------------------------------- state, traces
    @property
    def dirty(self) -> bool:
        """True if the state changed since the last `dump_state`/`load_state`."""
        return self._ctx.dirty

    def dump_state(self) -> bytes:
        """The state blob (windows, throttles, pending firings, named values, traces)."""
        self._ctx.dirty = False
        return self._ctx.mem.encode()

    def load_state(self, blob: bytes) -> None:
        """Restore a blob from `dump_state`; StoreError if it cannot be read."""
        self._ctx.mem.decode(blob)
        self._depths.clear()
        self._clock.install(self._ruleset.rules)
        self._ctx.dirty = False

    def action_failed(self, cmd: Command, error: str) -> None:
        """The hub reports that a command from a rule failed: record it in that rule's trace."""
        if not cmd.origin.startswith("rule:"):
            return
        rule_id = cmd.origin.removeprefix("rule:")
        self._ctx.mem.traces.command_failed(rule_id, cmd, error, self._ctx.q_now)
        self._ctx.dirty = True

    def traces(self, rule_id: str) -> list[dict[str, Any]]:
        """The last firings of a rule, oldest first: event, values, actions, errors.

        `at` is the ISO time (hall time zone) of the event or tick behind the entry.
        """
        entries = self._ctx.mem.traces.get(rule_id)
        for entry in entries:
            at = entry.get("at")
            if isinstance(at, int | float):
                entry["at"] = datetime.fromtimestamp(at, self._ctx.tz).isoformat()
        return entries

    def traced_ids(self) -> list[str]:
        """Ids that have traces (rules, `window:ID`, `engine`)."""
        return self._ctx.mem.traces.ids()

    def value(self, name: str, default: Any = None) -> Any:
        """A named value set by a `state` action."""
        return self._ctx.mem.values.get(name, default)

    def capture(self, sink: list[tuple[str, dict[str, Any]]] | None) -> None:
        """Also append every new trace entry to `sink` (dry runs); None stops it."""
        self._ctx.capture = sink


def _snapshot(ev: JournaledEvent) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "id": ev.id,
        "type": ev.type,
        "device_id": ev.device_id,
        "time": ev.time.timestamp(),
        "data": plain(ev.data),
    }


def reload(
    engine: RuleEngine, paths: Sequence[Path], params: Mapping[str, Any], builtin: bool = True
) -> list[Output]:
    """Reload the rule files into `engine`; on an error keep the old rules and return an alert.

    Used by the file watcher and by the hub command `rules.reload`: an empty list means
    the new rules run; otherwise the one `alert.raised` event names the file and line.
    """
    try:
        ruleset = load_ruleset(paths, params, builtin)
    except ConfigError as exc:
        data = {
            "severity": "warning",
            "rule": "rules.reload",
            "message": f"规则文件有误，继续使用原有规则：{exc}",
            "subject": f"file:{exc.file}",
        }
        return [Event(ALERT_TYPE, HUB_DEVICE, data)]
    engine.replace(ruleset)
    return []
