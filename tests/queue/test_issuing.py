"""Ticket requests: numbers, print commands, refusals, repeats, the daily reset."""

from __future__ import annotations

from collections.abc import Callable

from edge.model import Command, Event
from tests.queue.hall import Hall, at, later

DAY = "2026-11-27"


def test_numbers_run_per_service_and_the_asking_device_prints(hall: Hall) -> None:
    t = at(DAY, "09:00:00")
    assert hall.request("payment", t) == "A001"
    assert hall.request("invoice", later(t, seconds=1)) == "D001"
    assert hall.request("payment", later(t, seconds=2), device="robot-1") == "A002"
    prints = hall.sent("robot-1", "ticket.print")
    assert len(prints) == 1
    args = prints[0].args
    assert set(args) == {
        "request_id",
        "ticket_no",
        "service",
        "service_name_zh",
        "waiting_ahead",
        "est_wait_min",
        "issued_at",
    }
    assert args["ticket_no"] == "A002" and args["service_name_zh"] == "缴费"
    assert args["waiting_ahead"] == 1
    assert args["issued_at"] == "2026-11-27T09:00:02.000+08:00"
    assert hall.sent("kiosk-1", "ticket.print")[0].args["ticket_no"] == "A001"


def test_issued_event_carries_the_contract_fields(hall: Hall) -> None:
    hall.request("new_install", at(DAY, "09:00:00"), priority="elderly", request_id="wx-1")
    issued = hall.events("queue.ticket.issued")[0]
    requested = hall.events("queue.ticket.requested")[0]
    assert issued.causation == requested.seq and issued.device_id == "hub"
    assert {
        k: issued.data[k]
        for k in (
            "ticket_no",
            "service",
            "priority",
            "channel",
            "request_id",
            "waiting_ahead",
            "day",
        )
    } == {
        "ticket_no": "B001",
        "service": "new_install",
        "priority": "elderly",
        "channel": "kiosk",
        "request_id": "wx-1",
        "waiting_ahead": 0,
        "day": DAY,
    }
    assert isinstance(issued.data["est_wait_min"], int)


def test_a_repeated_request_gets_the_same_ticket_and_no_new_event(hall: Hall) -> None:
    t = at(DAY, "09:00:00")
    assert hall.request("payment", t, request_id="k-77") == "A001"
    outs = hall.send(
        "queue.ticket.requested",
        "kiosk-1",
        {"request_id": "k-77", "service": "payment"},
        later(t, seconds=3),
    )
    assert [o for o in outs if isinstance(o, Event)] == []
    assert [o.args["ticket_no"] for o in outs if isinstance(o, Command)] == ["A001"]
    assert hall.request("payment", later(t, seconds=4)) == "A002"


def test_refused_outside_hours_and_for_unknown_services(hall: Hall) -> None:
    assert hall.request("payment", at(DAY, "08:29:59")) == ""
    assert hall.request("payment", at(DAY, "16:30:00")) == ""  # last_ticket
    assert hall.request("pension", at(DAY, "10:00:00")) == ""
    assert hall.request("payment", at("2026-11-29", "10:00:00")) == "A001"  # a Sunday, open
    reasons = [e.data["reason"] for e in hall.events("queue.ticket.refused")]
    assert reasons == ["closed", "closed", "unknown_service"]
    refuse = hall.sent("kiosk-1", "ticket.refuse")
    assert [r.args["reason"] for r in refuse] == reasons and all(r.args["text"] for r in refuse)


def test_closed_weekdays_refuse(make_hall: Callable[..., Hall]) -> None:
    hall = make_hall(opening_hours={"open": "08:30", "close": "17:00", "days": [1, 2, 3, 4, 5]})
    assert hall.request("payment", at("2026-11-28", "10:00:00")) == ""  # Saturday
    assert hall.request("payment", at("2026-11-30", "10:00:00")) == "A001"  # Monday


def test_unknown_priority_is_served_as_normal(hall: Hall) -> None:
    hall.request("payment", at(DAY, "09:00:00"), priority="mayor")
    assert hall.events("queue.ticket.issued")[0].data["priority"] == "normal"


def test_cloud_requests_get_no_print_command(hall: Hall) -> None:
    outs = hall.send(
        "queue.ticket.requested",
        "cloud",
        {"request_id": "wx-9", "service": "invoice"},
        at(DAY, "09:00:00"),
    )
    assert [o for o in outs if isinstance(o, Command)] == []
    assert hall.events("queue.ticket.issued")[0].data["channel"] == "wechat"


def test_numbers_start_again_after_the_daily_reset(hall: Hall) -> None:
    assert hall.request("payment", at(DAY, "16:00:00")) == "A001"
    assert hall.request("payment", at(DAY, "16:01:00")) == "A002"
    # Nobody called them: at the reset they are abandoned as "left" and a new day starts.
    hall.tick(at("2026-11-28", "00:00:01"))
    ends = hall.events("queue.ticket.abandoned")
    assert [(e.data["ticket_no"], e.data["reason"], e.data["day_end"]) for e in ends] == [
        ("A001", "left", True),
        ("A002", "left", True),
    ]
    assert ends[0].data["wait_s"] == 8 * 3600 + 1
    assert [e.data["day"] for e in hall.events("queue.day.started")] == [DAY, "2026-11-28"]
    assert hall.request("payment", at("2026-11-28", "09:00:00")) == "A001"


def test_a_reset_in_the_small_hours(make_hall: Callable[..., Hall]) -> None:
    hall = make_hall(reset_at="03:00")
    assert hall.request("payment", at(DAY, "16:00:00")) == "A001"
    hall.tick(at("2026-11-28", "02:59:59"))  # still the 27th's business day
    assert hall.events("queue.ticket.abandoned") == []
    hall.tick(at("2026-11-28", "03:00:00"))
    assert len(hall.events("queue.ticket.abandoned")) == 1
    assert hall.manager.day_start(at("2026-11-28", "02:00:00")) == at(DAY, "03:00:00")
