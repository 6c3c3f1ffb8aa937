"""Cloud commands to the hub's queue, turned into input events."""

from __future__ import annotations

from typing import Any

import pytest

from edge.errors import CommandError
from edge.model import Command
from edge.queue import HUB_COMMANDS, command_to_event, request_id_of
from tests.queue.hall import Hall, at, queue_section

SECTION = queue_section()


def _cmd(name: str, cmd_id: str = "c-1", **args: Any) -> Command:
    return Command("hub", name, args, cmd_id=cmd_id, origin="cloud")


def test_the_hub_commands() -> None:
    assert {"queue.issue", "queue.call_next", "queue.recall", "queue.transfer"} == HUB_COMMANDS


def test_queue_issue_becomes_a_ticket_request() -> None:
    ev = command_to_event(
        _cmd(
            "queue.issue",
            service="invoice",
            priority="appointment",
            channel="appointment",
            request_id="ap-42",
        ),
        SECTION,
    )
    assert (ev.type, ev.device_id) == ("queue.ticket.requested", "cloud")
    assert dict(ev.data) == {
        "request_id": "ap-42",
        "service": "invoice",
        "priority": "appointment",
        "channel": "appointment",
    }
    assert request_id_of(ev) == "ap-42"
    # Defaults: normal WeChat ticket, the command id as request id.
    ev = command_to_event(_cmd("queue.issue", cmd_id="c-9", service="payment"))
    assert dict(ev.data) == {
        "request_id": "c-9",
        "service": "payment",
        "priority": "normal",
        "channel": "wechat",
    }


def test_counter_commands_become_counter_actions() -> None:
    ev = command_to_event(_cmd("queue.call_next", counter=3, staff_id="S03"), SECTION)
    assert (ev.type, ev.device_id) == ("counter.action", "cloud")
    assert dict(ev.data) == {
        "counter": 3,
        "action": "call_next",
        "press_id": "c-1",
        "staff_id": "S03",
    }
    assert command_to_event(_cmd("queue.recall", counter="2")).data["action"] == "recall"
    ev = command_to_event(_cmd("queue.transfer", counter=3, to_service="payment"), SECTION)
    assert (ev.data["action"], ev.data["to_service"]) == ("transfer", "payment")
    ev = command_to_event(_cmd("queue.transfer", counter=3, to_counter=1), SECTION)
    assert ev.data["to_counter"] == 1


@pytest.mark.parametrize(
    ("cmd", "code", "words"),
    [
        (_cmd("queue.issue"), 400, "args.service"),
        (_cmd("queue.issue", service="pension"), 400, "not a service of this hall"),
        (_cmd("queue.issue", service="payment", priority="mayor"), 400, "args.priority"),
        (_cmd("queue.issue", service="payment", channel="fax"), 400, "args.channel"),
        (_cmd("queue.issue", cmd_id="", service="payment"), 400, "request_id"),
        (_cmd("queue.call_next"), 400, "args.counter"),
        (_cmd("queue.call_next", counter=0), 400, "args.counter"),
        (_cmd("queue.call_next", counter=9), 400, "not a counter of this hall"),
        (_cmd("queue.call_next", counter=1, staff_id=7), 400, "args.staff_id"),
        (_cmd("queue.transfer", counter=1), 400, "to_counter or args.to_service"),
        (_cmd("queue.transfer", counter=1, to_service="pension"), 400, "not a service"),
        (_cmd("queue.dance", counter=1), 404, "no command"),
    ],
)
def test_bad_commands_are_refused(cmd: Command, code: int, words: str) -> None:
    with pytest.raises(CommandError) as err:
        command_to_event(cmd, SECTION)
    assert err.value.code == code
    assert words in err.value.msg


def test_a_cloud_call_next_delivered_twice_calls_once(hall: Hall) -> None:
    t = at("2026-11-27", "10:00:00")
    hall.request("payment", t)
    hall.request("payment", t)
    ev = command_to_event(_cmd("queue.call_next", cmd_id="cloud-7", counter=1), SECTION)
    first = hall.send(ev.type, ev.device_id, ev.data, at("2026-11-27", "10:01:00"))
    again = hall.send(ev.type, ev.device_id, ev.data, at("2026-11-27", "10:01:01"))
    assert hall.called(first) == "A001" and again == []
