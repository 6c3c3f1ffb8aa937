"""Clerks' keys: recall and no-show, pause, duplicates, finish and ratings, close."""

from __future__ import annotations

from collections.abc import Callable

from edge.model import Command, Event
from tests.queue.hall import Hall, at, later

DAY = "2026-11-27"
T0 = at(DAY, "09:00:00")


def _t(seconds: float) -> object:
    return later(T0, seconds=seconds)


def test_a_call_drives_caller_displays_and_voice(hall: Hall) -> None:
    hall.request("payment", T0)
    outs = hall.press(1, "call_next", later(T0, seconds=30), staff_id="S01", press_id="p1")
    commands = [(o.device_id, o.name, dict(o.args)) for o in outs if isinstance(o, Command)]
    text = "请A001号到1号窗口办理业务"
    assert commands == [
        ("caller-1", "caller.show_digits", {"text": "A001"}),
        ("caller-1", "caller.beep", {}),
        ("window-1", "display.show_call", {"ticket_no": "A001", "counter": 1, "text": text}),
        ("hall-screen", "display.show_call", {"ticket_no": "A001", "counter": 1, "text": text}),
        ("hall-voice", "voice.announce", {"text": text, "repeat": 2}),
    ]
    called = hall.events("queue.ticket.called")[0].data
    assert (called["counter"], called["staff_id"], called["call_no"]) == (1, "S01", 1)
    opened = hall.events("counter.state_changed")[0].data
    assert (opened["counter"], opened["state"], opened["staff_id"]) == (1, "open", "S01")


def test_a_counter_without_devices_gets_no_commands(make_hall: Callable[..., Hall]) -> None:
    hall = make_hall(
        counters=[
            {
                "number": 1,
                "services": [
                    "payment",
                    "invoice",
                    "new_install",
                    "capacity_change",
                    "consultation",
                ],
            }
        ],
        displays=[],
        voices=[],
    )
    hall.request("payment", T0)
    outs = hall.press(1, "call_next", later(T0, seconds=30))
    assert hall.called(outs) == "A001"
    assert [o for o in outs if isinstance(o, Command)] == []
    hall.press(1, "finish", later(T0, seconds=300))
    assert hall.events("rating.requested") == []


def test_the_same_press_twice_calls_one_ticket(hall: Hall) -> None:
    for i in range(3):
        hall.request("payment", later(T0, seconds=i))
    first = hall.press(1, "call_next", later(T0, seconds=60), press_id="f-41")
    again = hall.press(1, "call_next", later(T0, seconds=60.8), press_id="f-41")
    assert hall.called(first) == "A001"
    assert again == []
    # The same press id long after the guard is a new press (serial frames repeat bytes).
    assert hall.called(hall.press(1, "call_next", later(T0, seconds=63), press_id="f-41")) == "A002"
    # A duplicate arriving after another press in between is still recognised.
    hall.press(1, "recall", later(T0, seconds=63.5), press_id="r-1")
    assert hall.press(1, "call_next", later(T0, seconds=64), press_id="f-41") == []
    assert [e.data["ticket_no"] for e in hall.events("queue.ticket.called")] == [
        "A001",
        "A002",
        "A002",
    ]


def test_presses_without_a_press_id_are_not_deduplicated(hall: Hall) -> None:
    hall.request("payment", T0)
    hall.request("payment", later(T0, seconds=1))
    assert hall.called(hall.press(1, "call_next", later(T0, seconds=60))) == "A001"
    assert hall.called(hall.press(1, "call_next", later(T0, seconds=60.5))) == "A002"


def test_recalls_then_no_show(hall: Hall) -> None:
    hall.request("payment", T0)
    hall.request("payment", later(T0, seconds=1))
    hall.press(1, "call_next", later(T0, seconds=60))
    for n in (2, 3):  # recalls = 2
        outs = hall.press(1, "recall", later(T0, seconds=60 + 30 * n))
        assert hall.events("queue.ticket.called")[-1].data["call_no"] == n
        assert any(isinstance(o, Command) and o.name == "voice.announce" for o in outs)
    outs = hall.press(1, "recall", later(T0, seconds=200))
    gone = hall.events("queue.ticket.abandoned")
    assert [(e.data["ticket_no"], e.data["reason"], e.data["calls"]) for e in gone] == [
        ("A001", "no_show", 3)
    ]
    assert gone[0].data["wait_s"] == 60  # issue to first call
    assert hall.sent("caller-1", "caller.show_digits")[-1].args["text"] == "----"
    # The counter is free: the next press calls the next ticket, nothing completes.
    assert hall.called(hall.press(1, "call_next", later(T0, seconds=210))) == "A002"
    assert hall.events("queue.ticket.completed") == []


def test_no_show_key(hall: Hall) -> None:
    hall.request("payment", T0)
    hall.press(1, "call_next", later(T0, seconds=60))
    hall.press(1, "no_show", later(T0, seconds=90))
    assert hall.events("queue.ticket.abandoned")[0].data["reason"] == "no_show"
    assert hall.press(1, "finish", later(T0, seconds=100)) == []


def test_finish_completes_and_asks_the_pad(hall: Hall) -> None:
    hall.request("payment", T0)
    hall.press(1, "call_next", later(T0, seconds=60), staff_id="S01")
    hall.press(1, "recall", later(T0, seconds=90))
    hall.press(1, "finish", later(T0, seconds=390))
    done = hall.events("queue.ticket.completed")[0].data
    assert (done["wait_s"], done["service_s"], done["staff_id"]) == (60, 300, "S01")
    assert done["issued_at"] == "2026-11-27T09:00:00.000+08:00"
    asked = hall.events("rating.requested")[0].data
    start = hall.sent("pad-1", "rating.start")[0].args
    assert asked["rating_id"] == start["rating_id"] == "20261127-A001"
    assert start == {
        "rating_id": "20261127-A001",
        "counter": 1,
        "staff_id": "S01",
        "ticket_no": "A001",
        "timeout_s": 30.0,
    }


def test_call_next_finishes_the_ticket_being_served(hall: Hall) -> None:
    hall.request("payment", T0)
    hall.request("payment", later(T0, seconds=1))
    hall.press(1, "call_next", later(T0, seconds=60))
    outs = hall.press(1, "call_next", later(T0, seconds=400))
    kinds = [o.type for o in outs if isinstance(o, Event)]
    assert kinds[:3] == ["queue.ticket.completed", "rating.requested", "queue.ticket.called"]


def test_a_new_rating_request_supersedes_the_pending_one(hall: Hall) -> None:
    hall.request("payment", T0)
    hall.request("payment", later(T0, seconds=1))
    hall.press(1, "call_next", later(T0, seconds=60))
    hall.press(1, "call_next", later(T0, seconds=100))  # A001 done, rating pending
    hall.press(1, "finish", later(T0, seconds=110))  # A002 done within A001's 30 s
    ends = hall.events("rating.timed_out")
    assert [(e.data["ticket_no"], e.data["reason"]) for e in ends] == [("A001", "superseded")]
    assert len(hall.manager.state.ratings) == 1


def test_a_paused_counter_is_skipped(hall: Hall) -> None:
    hall.press(1, "open", T0, staff_id="S01")
    hall.press(2, "open", T0, staff_id="S02")
    hall.tick(later(T0, seconds=10))
    hall.press(2, "pause", later(T0, seconds=20))
    assert hall.sent("caller-2", "caller.show_digits")[-1].args["text"] == "PAUS"
    hall.tick(later(T0, seconds=30))
    status = [e.data for e in hall.events("queue.status") if e.data["service"] == "payment"]
    # Counter 2's opening was held back 5 s by the rate limit and sent by the tick.
    # Paused counters do not count as open, for the status and for the wait estimate.
    assert [s["open_counters"] for s in status] == [1, 2, 1]
    hall.request("payment", later(T0, seconds=40))
    cap_paused = hall.events("queue.ticket.issued")[-1].data["est_wait_min"]
    assert cap_paused == 0  # counter 1 is idle
    # Pause again toggles (serial callers have one key); call_next also resumes.
    hall.press(2, "pause", later(T0, seconds=50))
    hall.press(2, "pause", later(T0, seconds=60))
    outs = hall.press(2, "call_next", later(T0, seconds=70))
    states = [
        e.data["state"] for e in hall.events("counter.state_changed") if e.data["counter"] == 2
    ]
    assert states == ["open", "paused", "open", "paused", "open"]
    assert hall.called(outs) == "A001"


def test_pause_and_resume_keys_and_a_closed_counter(hall: Hall) -> None:
    hall.tick(T0)
    assert hall.press(3, "pause", T0) == []  # closed: nothing to pause
    hall.press(3, "resume", later(T0, seconds=1))
    hall.press(3, "pause", later(T0, seconds=2))
    hall.press(3, "resume", later(T0, seconds=3))
    states = [e.data["state"] for e in hall.events("counter.state_changed")]
    assert states == ["open", "paused", "open"]


def test_close_finishes_and_returns_waiting_transfers(hall: Hall) -> None:
    hall.request("new_install", T0)
    hall.request("payment", later(T0, seconds=1))
    hall.press(2, "open", later(T0, seconds=2))
    hall.press(3, "call_next", later(T0, seconds=10))
    hall.press(3, "transfer", later(T0, seconds=300), to_counter=2)
    hall.press(1, "call_next", later(T0, seconds=310))
    hall.press(2, "close", later(T0, seconds=320))
    back = hall.events("queue.ticket.transferred")[-1].data
    assert (back["ticket_no"], back["to_counter"], back["reason"]) == (
        "B001",
        None,
        "counter_closed",
    )
    # Back in the new_install queue: counter 3 calls it again.
    assert hall.called(hall.press(3, "call_next", later(T0, seconds=330))) == "B001"
    # A transfer to a closed counter goes to the ticket's service queue at once.
    hall.press(3, "transfer", later(T0, seconds=400), to_counter=2)
    assert hall.events("queue.ticket.transferred")[-1].data["reason"] == "counter_closed"
    # Closing with a ticket at the counter completes it.
    hall.press(1, "close", later(T0, seconds=500))
    assert hall.events("queue.ticket.completed")[-1].data["ticket_no"] == "A001"
    assert hall.events("counter.state_changed")[-1].data["state"] == "closed"


def test_impossible_actions_change_nothing(hall: Hall) -> None:
    hall.request("payment", T0)
    hall.press(1, "call_next", later(T0, seconds=10))
    before = hall.manager.snapshot()
    assert hall.press(9, "call_next", later(T0, seconds=20)) == []  # no such counter
    assert hall.press(1, "dance", later(T0, seconds=21)) == []
    assert hall.press(1, "transfer", later(T0, seconds=22), to_counter=1) == []
    assert hall.press(1, "transfer", later(T0, seconds=23), to_counter=42) == []
    assert hall.press(1, "transfer", later(T0, seconds=24), to_service="pension") == []
    assert hall.press(1, "transfer", later(T0, seconds=25)) == []
    assert hall.press(2, "finish", later(T0, seconds=26)) == []
    assert hall.press(2, "recall", later(T0, seconds=27)) == []
    assert hall.manager.snapshot() == before


def test_counter_numbers_as_text_are_accepted(hall: Hall) -> None:
    hall.request("payment", T0)
    outs = hall.send(
        "counter.action", "caller-1", {"counter": "1", "action": "call_next"}, later(T0, seconds=5)
    )
    assert hall.called(outs) == "A001"


def test_the_day_end_closes_counters_and_ends_open_tickets(hall: Hall) -> None:
    hall.request("payment", T0)
    hall.request("payment", later(T0, seconds=1))
    hall.press(1, "call_next", later(T0, seconds=60), staff_id="S01")
    hall.press(2, "open", later(T0, seconds=61), staff_id="S02")
    hall.press(2, "pause", later(T0, seconds=62))
    hall.tick(at("2026-11-28", "00:00:00"))
    ends = [
        (e.data["ticket_no"], e.data["counter"], e.data["wait_s"], e.data["reason"])
        for e in hall.events("queue.ticket.abandoned")
    ]
    assert ends == [("A001", 1, 60, "left"), ("A002", None, 53999, "left")]
    closed = [
        (e.data["counter"], e.data["staff_id"])
        for e in hall.events("counter.state_changed")
        if e.data.get("day_end")
    ]
    assert closed == [(1, "S01"), (2, "S02")]
    assert (
        hall.manager.snapshot()["counters"] == {} and hall.manager.snapshot()["day"] == "2026-11-28"
    )
