"""The engine's clock path: schedules, debounce expiries and housekeeping, from tick(now).

`tick` is called about once a second; it returns at once until the earliest due time
(a schedule, a pending debounced firing, or the 10-minute sweep that forgets expired
throttle and window keys).

A schedule missed while the hub was down fires late only within its grace (15 minutes,
or the interval for shorter "every" schedules); later it is recorded as `missed`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from edge.model import HUB_DEVICE, Output
from edge.rules.actions import Firing
from edge.rules.context import Context, RuleNames, trace_entry
from edge.rules.ruleset import Rule
from edge.rules.state import RuleState

SWEEP_S = 600.0


class Clock:
    """Fires scheduled and debounced rules of the current rule set."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.debounced: list[Rule] = []
        self.scheduled: list[Rule] = []
        self.next_due = -math.inf
        self.next_sweep = -math.inf

    def install(self, rules: tuple[Rule, ...]) -> None:
        """Take the rules of a new rule set; the next tick recomputes every due time."""
        self.debounced = [r for r in rules if r.debounce is not None]
        self.scheduled = [r for r in rules if r.trigger.schedule is not None]
        self.next_due = -math.inf

    def due_at(self, when: float) -> None:
        """A debounced firing was scheduled: make sure tick wakes up for it."""
        self.next_due = min(self.next_due, when)

    def tick(self, now: datetime) -> list[Output]:
        """Everything due at `now`."""
        ts = now.timestamp()
        if ts < self.next_due:
            return []
        ctx = self.ctx
        ctx.set_clock(ts, now.astimezone(ctx.tz))
        outputs: list[Output] = []
        states = ctx.mem.rules
        for rule in self.debounced:
            debouncer = states[rule.id].debounce
            if debouncer is None:
                continue
            for key, pending in debouncer.expired(ts):
                ctx.dirty = True
                self._fire_pending(rule, pending.event, key, now, outputs)
        for rule in self.scheduled:
            self._schedule(rule, states[rule.id], now, outputs)
        if ts >= self.next_sweep:
            self._sweep(ts)
            self.next_sweep = ts + SWEEP_S
        dues = [self.next_sweep]
        for rule in self.debounced:
            debouncer = states[rule.id].debounce
            due = debouncer.next_due() if debouncer is not None else None
            if due is not None:
                dues.append(due)
        dues += [d for r in self.scheduled if (d := states[r.id].next_due) is not None]
        self.next_due = min(dues)
        return outputs

    def _schedule(self, rule: Rule, state: RuleState, now: datetime, outputs: list[Output]) -> None:
        schedule = rule.trigger.schedule
        assert schedule is not None
        ctx = self.ctx
        ts = now.timestamp()
        if state.next_due is None:
            state.next_due = schedule.next_after(now, ctx.tz).timestamp()
            ctx.dirty = True
            return
        if ts < state.next_due:
            return
        late = ts - state.next_due
        state.next_due = schedule.next_after(now, ctx.tz).timestamp()
        ctx.dirty = True
        ref = {"type": "schedule", "schedule": schedule.text}
        if late > schedule.grace_s:
            entry = trace_entry(ref, ts, "missed", {})
            entry["errors"] = [f"the hub was not running at that time ({late:.0f}s late)"]
            ctx.trace(rule.id, entry)
            return
        local = now.astimezone(ctx.tz)
        names = ctx.names({}, local, etype="schedule", device=HUB_DEVICE, seq=0, ev_id="")
        self._fire(rule, names, ref, now, None, outputs, from_schedule=True)

    def _fire_pending(
        self, rule: Rule, snap: dict[str, Any], key: str, now: datetime, outputs: list[Output]
    ) -> None:
        ctx = self.ctx
        local = datetime.fromtimestamp(float(snap.get("time", now.timestamp())), ctx.tz)
        seq = snap.get("seq")
        names = ctx.names(
            snap.get("data") or {},
            local,
            etype=str(snap.get("type", "")),
            device=str(snap.get("device_id", "")),
            seq=seq if isinstance(seq, int) else 0,
            ev_id=str(snap.get("id", "")),
        )
        ref = {k: snap.get(k) for k in ("seq", "id", "type", "device_id")}
        causation = seq if isinstance(seq, int) else None
        extra = {"key": key, "since": local.isoformat()}
        self._fire(rule, names, ref, now, causation, outputs, from_schedule=False, extra=extra)

    def _fire(
        self,
        rule: Rule,
        names: dict[str, Any],
        ref: dict[str, Any],
        now: datetime,
        causation: int | None,
        outputs: list[Output],
        *,
        from_schedule: bool,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Vars, condition and gates, then actions, of a firing from the clock.

        A debounced firing had its condition and dedupe checked when it matched; only the
        throttle is left for when it fires.
        """
        ctx = self.ctx
        state = ctx.mem.rules[rule.id]
        local_names = RuleNames(names, rule.vars, ctx.eval.run)
        values = local_names.computed  # vars land here as they are computed, for the trace
        values.update(extra or {})
        ts = now.timestamp()
        try:
            if from_schedule and rule.when is not None:
                if not ctx.eval.run(rule.when, local_names):
                    return
                values["when"] = True
            gates = [(state.throttle, rule.throttle, "throttle")]
            if from_schedule:
                gates.insert(0, (state.dedupe, rule.dedupe, "dedupe"))
            for gate, defn, label in gates:
                if gate is None or defn is None:
                    continue
                if not gate.admit(ctx.gate_key(defn.key, local_names), ts):
                    ctx.trace(rule.id, trace_entry(ref, ts, f"suppressed:{label}", values))
                    return
            local_names.compute_all()
        except Exception as exc:
            entry = trace_entry(ref, ts, "error", values)
            entry["errors"] = [f"{type(exc).__name__}: {exc}"]
            ctx.trace(rule.id, entry)
            return
        firing = Firing(rule.id, local_names, now, causation)
        ctx.runner.run(rule.actions, firing)
        outputs.extend(firing.outputs)
        entry = trace_entry(ref, ts, "fired", values)
        entry["actions"] = firing.done
        if firing.errors:
            entry["errors"] = firing.errors
        ctx.trace(rule.id, entry)

    def _sweep(self, ts: float) -> None:
        ctx = self.ctx
        for state in ctx.mem.rules.values():
            for gate in (state.dedupe, state.throttle):
                if gate is not None:
                    gate.prune(ts)
        for window in ctx.windows.values():
            window.prune(ts if window.kind == "sliding" else ctx.q_local)
