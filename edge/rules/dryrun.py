"""Dry runs: feed test events to a fresh engine and report what each rule would do.

Nothing leaves the engine: commands and alerts are only listed, state is thrown away.
The clock is simulated from the events' own times (tick before each event), so debounced
and scheduled rules behave as they would in the hall; `advance_s` ticks once more after
the last event (e.g. 11 minutes to see a "device offline for 10 minutes" alert).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edge.errors import PayloadError
from edge.model import JournaledEvent, Output
from edge.rules.engine import RuleEngine
from edge.rules.ruleset import RuleSet


@dataclass(slots=True)
class DryRunStep:
    """One event (or the final tick, `event` None) and what the rules made of it."""

    event: JournaledEvent | None
    at: datetime
    forward: bool
    outputs: list[Output] = field(default_factory=list)
    firings: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (rule id, trace)


def parse_test_event(obj: Any, seq: int, default_time: datetime) -> JournaledEvent:
    """A test event from JSON: {"type", "device_id", "data", "time", "seq"}; PayloadError if bad.

    The CloudEvents envelope's names (`deviceid`, `hallseq`) are accepted too, so events
    copied from the cloud side can be replayed as they are.
    """
    if not isinstance(obj, Mapping):
        raise PayloadError("test event", f"expected a JSON object, got {type(obj).__name__}")
    etype = obj.get("type")
    if not isinstance(etype, str) or not etype:
        raise PayloadError("test event", "needs a 'type' such as rating.submitted")
    data = obj.get("data", {})
    if not isinstance(data, Mapping):
        raise PayloadError("test event", f"'data' of {etype} must be an object")
    device = obj.get("device_id", obj.get("deviceid", "test"))
    raw_time = obj.get("time")
    when = default_time
    if raw_time is not None:
        try:
            when = datetime.fromisoformat(str(raw_time).replace("Z", "+00:00"))
        except ValueError:
            raise PayloadError("test event", f"'time' is not RFC 3339: {raw_time!r}") from None
        if when.tzinfo is None:
            raise PayloadError("test event", f"'time' needs a UTC offset: {raw_time!r}")
    number = obj.get("seq", obj.get("hallseq", seq))
    causation = obj.get("causation")
    return JournaledEvent(
        seq=int(number),
        id=str(obj.get("id", f"test-{number}")),
        type=etype,
        device_id=str(device),
        time=when,
        data=dict(data),
        causation=int(causation) if causation is not None else None,
        replayed=bool(obj.get("replayed", False)),
    )


def parse_test_events(items: Iterable[Any], start: datetime) -> list[JournaledEvent]:
    """Number the events 1, 2, ... (unless they carry seq) and time them 1 s apart by default."""
    events: list[JournaledEvent] = []
    when = start
    for i, obj in enumerate(items, start=1):
        ev = parse_test_event(obj, events[-1].seq + 1 if events else i, when)
        events.append(ev)
        when = ev.time + timedelta(seconds=1)
    return events


def dry_run(
    ruleset: RuleSet,
    events: Sequence[JournaledEvent],
    hall_tz: ZoneInfo,
    device_groups: Mapping[str, frozenset[str]] | None = None,
    advance_s: float = 0.0,
) -> list[DryRunStep]:
    """Run `events` through a fresh engine; one step per event, plus one for the last tick."""
    engine = RuleEngine(
        ruleset,
        hall_tz,
        device_groups or {},
        trace_depth=1000,
        strict_groups=device_groups is not None,
    )
    steps: list[DryRunStep] = []
    for ev in events:
        ticked = _tick(engine, ev.time)
        if ticked is not None:
            steps.append(ticked)
        captured: list[tuple[str, dict[str, Any]]] = []
        engine.capture(captured)
        decision = engine.evaluate(ev)
        engine.capture(None)
        steps.append(
            DryRunStep(ev, ev.time, decision.forward, decision.outputs, _timed(captured, hall_tz))
        )
    if events and advance_s > 0:
        ticked = _tick(engine, events[-1].time + timedelta(seconds=advance_s))
        if ticked is not None:
            steps.append(ticked)
    return steps


def _tick(engine: RuleEngine, now: datetime) -> DryRunStep | None:
    captured: list[tuple[str, dict[str, Any]]] = []
    engine.capture(captured)
    outputs = engine.tick(now)
    engine.capture(None)
    if not outputs and not captured:
        return None
    return DryRunStep(None, now, True, outputs, _timed(captured, now.tzinfo))


def _timed(captured: list[tuple[str, dict[str, Any]]], tz: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for rule_id, entry in captured:
        shown = dict(entry)
        at = shown.get("at")
        if isinstance(at, int | float):
            shown["at"] = datetime.fromtimestamp(at, tz).isoformat()
        out.append((rule_id, shown))
    return out
