"""Calling order: transfers first, then the counter's services, priority share, issue time."""

from __future__ import annotations

from collections.abc import Callable

from tests.queue.hall import Hall, at, later

DAY = "2026-11-27"
T0 = at(DAY, "09:00:00")


def _call(hall: Hall, counter: int, seconds: float) -> str | None:
    return hall.called(hall.press(counter, "call_next", later(T0, seconds=seconds)))


def test_issue_order_within_a_service(hall: Hall) -> None:
    for i in range(3):
        hall.request("payment", later(T0, seconds=i))
    assert [_call(hall, 1, 100 + i) for i in range(3)] == ["A001", "A002", "A003"]
    assert _call(hall, 1, 200) is None
    assert hall.sent("caller-1", "caller.show_digits")[-1].args == {"text": "----"}


def test_counter_services_in_order_of_preference(hall: Hall) -> None:
    hall.request("invoice", T0)  # D001, older
    hall.request("payment", later(T0, seconds=5))  # A001
    # Counter 1 prefers payment, counter 5 invoice: each takes its first service's ticket.
    assert _call(hall, 5, 60) == "D001"
    hall.request("invoice", later(T0, seconds=70))
    assert _call(hall, 1, 80) == "A001"
    assert _call(hall, 1, 90) == "D002"  # nothing of payment left: its second service


def test_priority_first_but_at_most_max_in_row(hall: Hall) -> None:
    # max_in_row = 2 in the test hall.
    for i, prio in enumerate(["normal", "normal", "elderly", "vip", "disabled", "appointment"]):
        hall.request("payment", later(T0, seconds=i), priority=prio)
    calls = [_call(hall, 1 + i % 2, 100 + i) for i in range(6)]
    # A003 A004 (2 priority in a row), A001 (a normal is due), A005 A006, A002.
    assert calls == ["A003", "A004", "A001", "A005", "A006", "A002"]
    lanes = [e.data["lane"] for e in hall.events("queue.ticket.called")]
    assert lanes == ["priority", "priority", "normal", "priority", "priority", "normal"]


def test_priority_goes_on_when_no_normal_waits(hall: Hall) -> None:
    for i in range(4):
        hall.request("payment", later(T0, seconds=i), priority="elderly")
    assert [_call(hall, 1, 100 + i) for i in range(4)] == ["A001", "A002", "A003", "A004"]


def test_classes_the_hall_does_not_honour_wait_as_normal(make_hall: Callable[..., Hall]) -> None:
    hall = make_hall(priority={"classes": ["elderly", "disabled"]})
    hall.request("payment", T0)
    hall.request("payment", later(T0, seconds=1), priority="vip")
    hall.request("payment", later(T0, seconds=2), priority="disabled")
    assert [_call(hall, 1, 100 + i) for i in range(3)] == ["A003", "A001", "A002"]


def test_a_transfer_to_a_counter_goes_before_its_queues(hall: Hall) -> None:
    hall.request("new_install", T0)  # B001
    hall.request("payment", later(T0, seconds=10))  # A001
    hall.request("payment", later(T0, seconds=20))  # A002
    assert _call(hall, 3, 30) == "B001"
    hall.press(2, "open", later(T0, seconds=40))
    hall.press(3, "transfer", later(T0, seconds=600), to_counter=2)
    # Counter 2 takes the transferred customer before A001 and A002.
    assert _call(hall, 2, 610) == "B001"
    called = hall.events("queue.ticket.called")[-1]
    assert called.data["lane"] == "transfer" and called.data["wait_s"] == 610


def test_a_transfer_to_a_service_keeps_the_issue_time(hall: Hall) -> None:
    hall.request("new_install", T0)  # B001 at 09:00:00
    hall.request("payment", later(T0, seconds=10))  # A001
    assert _call(hall, 3, 30) == "B001"
    hall.press(3, "transfer", later(T0, seconds=600), to_service="payment")
    moved = hall.events("queue.ticket.transferred")[-1].data
    assert (moved["from_counter"], moved["to_counter"], moved["service"]) == (3, None, "payment")
    # B001 was issued before A001: it is first in the payment queue.
    assert _call(hall, 1, 610) == "B001"
    assert _call(hall, 1, 620) == "A001"
    done = hall.press(1, "finish", later(T0, seconds=700))
    assert done and hall.events("queue.ticket.completed")[-1].data["service"] == "payment"
