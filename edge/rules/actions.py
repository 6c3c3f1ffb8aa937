"""What a rule does when it fires: forward, drop, command, emit, alert, state.

Actions are compiled at load (templates split, expressions parsed) and carried out by
`ActionRunner`, which only builds outputs: Commands for the hub to route and Events for
the hub to journal. Each action runs on its own: one that fails (a missing field in a
template, an empty device group) is written to the firing's errors and the next one runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from edge.errors import EdgeError
from edge.model import HUB_DEVICE, Command, Event, Output
from edge.rules.conditions import Evaluator, Expr
from edge.rules.templates import Template, render_value

ALERT_TYPE = "alert.raised"
GROUP_PREFIX = "group:"


@dataclass(frozen=True, slots=True)
class CommandAction:
    device: Template  # a device id or "group:NAME"
    name: str
    args: Any  # compiled value: templates inside dicts/lists


@dataclass(frozen=True, slots=True)
class AlertAction:
    severity: str
    message: Template
    subject: Template


@dataclass(frozen=True, slots=True)
class EmitAction:
    type: str
    device: Template
    data: Any


@dataclass(frozen=True, slots=True)
class StateAction:
    op: Literal["set", "increment", "unset"]
    name: Template
    value: Expr | Any  # an Expr, or a constant from the YAML


@dataclass(frozen=True, slots=True)
class DropAction:
    pass


@dataclass(frozen=True, slots=True)
class ForwardAction:
    pass


Action = CommandAction | AlertAction | EmitAction | StateAction | DropAction | ForwardAction


class ActionError(EdgeError):
    """An action could not be carried out; recorded in the trace, never raised further."""


@dataclass(slots=True)
class Firing:
    """One firing of a rule: its names, where outputs go, and what the trace will show.

    `done` holds one record per action; they hold rendered text and event values only,
    so they go to the trace as they are (no copy on the hot path).
    """

    rule_id: str
    names: dict[str, Any]
    time: datetime
    causation: int | None
    send_commands: bool = True  # False for replayed events: never command a device late
    outputs: list[Output] = field(default_factory=list)
    done: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class ActionRunner:
    """Carries out compiled actions into outputs, named values and trace records."""

    def __init__(
        self,
        evaluator: Evaluator,
        values: dict[str, Any],
        device_groups: Mapping[str, frozenset[str]],
        strict_groups: bool = True,
    ) -> None:
        self.evaluator = evaluator
        self.values = values
        self.device_groups = device_groups
        # Without the hub config (dry runs) a group stays symbolic instead of failing.
        self.strict_groups = strict_groups

    def run(self, actions: tuple[Action, ...], firing: Firing) -> None:
        """Carry out every action; failures go to `firing.errors`."""
        for action in actions:
            try:
                self._one(action, firing)
            except Exception as exc:
                kind = type(action).__name__.removesuffix("Action").lower()
                firing.errors.append(f"{kind}: {exc}")
                firing.done.append({"action": kind, "error": str(exc)})

    def _one(self, action: Action, firing: Firing) -> None:
        names = firing.names
        if isinstance(action, CommandAction):
            self._command(action, firing)
        elif isinstance(action, AlertAction):
            data = {
                "severity": action.severity,
                "rule": firing.rule_id,
                "message": action.message.render(names),
                "subject": action.subject.render(names),
            }
            firing.outputs.append(
                Event(ALERT_TYPE, HUB_DEVICE, data, time=firing.time, causation=firing.causation)
            )
            firing.done.append({"action": "alert", **data})
        elif isinstance(action, EmitAction):
            data = render_value(action.data, names)
            if not isinstance(data, dict):
                raise ActionError("emit data must be a mapping")
            # The emitting rule's id travels with the event: the loop guard reads it.
            data.setdefault("rule", firing.rule_id)
            device = str(action.device.value(names))
            firing.outputs.append(
                Event(action.type, device, data, time=firing.time, causation=firing.causation)
            )
            firing.done.append(
                {"action": "emit", "type": action.type, "device": device, "data": data}
            )
        elif isinstance(action, StateAction):
            self._state(action, firing)
        elif isinstance(action, DropAction):
            firing.done.append({"action": "drop"})
        else:
            firing.done.append({"action": "forward"})

    def _targets(self, device: str) -> list[str]:
        if not device.startswith(GROUP_PREFIX):
            return [device]
        group = device[len(GROUP_PREFIX) :]
        members = self.device_groups.get(group)
        if members:
            return sorted(members)
        if not self.strict_groups:
            return [device]
        raise ActionError(f"device group '{group}' has no devices in the hub config")

    def _command(self, action: CommandAction, firing: Firing) -> None:
        device = str(action.device.value(firing.names))
        args = render_value(action.args, firing.names)
        origin = f"rule:{firing.rule_id}"
        targets = self._targets(device)
        record: dict[str, Any] = {"action": "command", "device": device, "name": action.name}
        if device != targets[0] or len(targets) > 1:
            record["targets"] = targets
        record["args"] = args
        if not firing.send_commands:
            record["skipped"] = "replayed event: no late command"
        else:
            for target in targets:
                firing.outputs.append(Command(target, action.name, args, origin=origin))
        firing.done.append(record)

    def _state(self, action: StateAction, firing: Firing) -> None:
        name = action.name.render(firing.names)
        if action.op == "unset":
            self.values.pop(name, None)
            firing.done.append({"action": "state", "unset": name})
            return
        value = action.value
        if isinstance(value, Expr):
            value = self.evaluator.run(value, firing.names)
        if action.op == "increment":
            current = self.values.get(name, 0)
            if not isinstance(current, int | float) or not isinstance(value, int | float):
                raise ActionError(f"cannot increment {name}={current!r} by {value!r}")
            value = current + value
        elif not isinstance(value, str | int | float | bool | None | list | dict):
            value = str(value)  # named values are kept as JSON in the state blob
        self.values[name] = value
        firing.done.append({"action": "state", "set": name, "value": value})
