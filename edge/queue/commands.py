"""Cloud commands to the hub's queue (`queue.issue`, `queue.call_next`, ...) as input events.

The hub journals the event, replies 202 with the request_id, and feeds the event to the
queue manager like any device's; the outcome (queue.ticket.issued or .refused, .called...)
reaches the cloud as events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.config.queue import PRIORITY_CLASSES, QueueSection
from edge.errors import CommandError
from edge.model import BAD_ARGS, NOT_FOUND, Command, Event
from edge.queue import catalogue as c
from edge.queue.issuing import CLOUD_DEVICE
from edge.queue.values import as_int

HUB_COMMANDS = c.HUB_COMMANDS
"""The names of the hub commands this module turns into queue events."""

_CHANNELS = frozenset({"wechat", "appointment", "kiosk", "robot", "counter", "web", "app"})


def command_to_event(cmd: Command, section: QueueSection | None = None) -> Event:
    """The input event a cloud queue command stands for; CommandError(400) for bad args.

    With `section`, service codes and counter numbers are checked against the config too.
    """
    args = cmd.args if isinstance(cmd.args, Mapping) else {}
    if cmd.name == c.ISSUE_COMMAND:
        data = _issue(cmd, args, section)
        return Event(type=c.TICKET_REQUESTED, device_id=CLOUD_DEVICE, data=data)
    if cmd.name in (c.CALL_NEXT_COMMAND, c.RECALL_COMMAND, c.TRANSFER_COMMAND):
        data = _action(cmd, args, section)
        return Event(type=c.COUNTER_ACTION, device_id=CLOUD_DEVICE, data=data)
    raise CommandError(NOT_FOUND, f"the queue has no command {cmd.name!r}")


def request_id_of(event: Event) -> str | None:
    """The request_id to put in the hub's 202 reply to `queue.issue`."""
    value = event.data.get("request_id")
    return value if isinstance(value, str) else None


def _text(args: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = args.get(key, default)
    if not isinstance(value, str) or not value:
        raise CommandError(BAD_ARGS, f"args.{key} must be a non-empty string")
    return value


def _issue(cmd: Command, args: Mapping[str, Any], section: QueueSection | None) -> dict[str, Any]:
    service = _text(args, "service")
    if section is not None and section.service(service) is None:
        known = ", ".join(s.code for s in section.services)
        raise CommandError(
            BAD_ARGS, f"args.service {service!r} is not a service of this hall ({known})"
        )
    priority = _text(args, "priority", "normal")
    if priority != "normal" and priority not in PRIORITY_CLASSES:
        raise CommandError(
            BAD_ARGS,
            f"args.priority must be normal, {', '.join(PRIORITY_CLASSES)}; got {priority!r}",
        )
    channel = _text(args, "channel", "wechat")
    if channel not in _CHANNELS:
        raise CommandError(BAD_ARGS, f"args.channel must be one of {', '.join(sorted(_CHANNELS))}")
    request_id = args.get("request_id") or cmd.cmd_id
    if not isinstance(request_id, str) or not request_id:
        raise CommandError(BAD_ARGS, "args.request_id (or the command's cmd_id) is needed")
    return {"request_id": request_id, "service": service, "priority": priority, "channel": channel}


def _action(cmd: Command, args: Mapping[str, Any], section: QueueSection | None) -> dict[str, Any]:
    counter = _counter(args, "counter", section)
    action = {c.CALL_NEXT_COMMAND: c.CALL_NEXT, c.RECALL_COMMAND: c.RECALL}.get(
        cmd.name, c.TRANSFER
    )
    data: dict[str, Any] = {"counter": counter, "action": action}
    if cmd.cmd_id:
        # The cloud's command id is the press: a command delivered twice calls once.
        data["press_id"] = cmd.cmd_id
    staff = args.get("staff_id")
    if staff is not None:
        if not isinstance(staff, str):
            raise CommandError(BAD_ARGS, "args.staff_id must be a string")
        data["staff_id"] = staff
    if action == c.TRANSFER:
        if "to_counter" in args:
            data["to_counter"] = _counter(args, "to_counter", section)
        elif "to_service" in args:
            to_service = _text(args, "to_service")
            if section is not None and section.service(to_service) is None:
                raise CommandError(
                    BAD_ARGS, f"args.to_service {to_service!r} is not a service of this hall"
                )
            data["to_service"] = to_service
        else:
            raise CommandError(BAD_ARGS, "queue.transfer needs args.to_counter or args.to_service")
    return data


def _counter(args: Mapping[str, Any], key: str, section: QueueSection | None) -> int:
    number = as_int(args.get(key))
    if number is None or number < 1:
        raise CommandError(BAD_ARGS, f"args.{key} must be a counter number")
    if section is not None and section.counter(number) is None:
        raise CommandError(BAD_ARGS, f"args.{key} {number} is not a counter of this hall")
    return number
