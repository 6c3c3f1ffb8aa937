"""Rating pads: a score by rating_id or by bare key, time-outs, late scores."""

from __future__ import annotations

from tests.queue.hall import Hall, at, later

DAY = "2026-11-27"
T0 = at(DAY, "09:00:00")


def _serve(hall: Hall, counter: int, service: str, start_s: float) -> str:
    ticket = hall.request(service, later(T0, seconds=start_s))
    hall.press(counter, "call_next", later(T0, seconds=start_s + 10), staff_id=f"S{counter}")
    hall.press(counter, "finish", later(T0, seconds=start_s + 100))
    return ticket


def test_a_score_with_its_rating_id(hall: Hall) -> None:
    _serve(hall, 1, "payment", 0)
    hall.send(
        "rating.submitted",
        "pad-1",
        {"rating_id": "20261127-A001", "level": 5, "dimensions": {"attitude": 5, "efficiency": 4}},
        later(T0, seconds=115),
    )
    got = hall.events("rating.received")
    assert [e.data for e in got] == [
        {
            "rating_id": "20261127-A001",
            "counter": 1,
            "staff_id": "S1",
            "ticket_no": "A001",
            "service": "payment",
            "level": 5,
            "dimensions": {"attitude": 5, "efficiency": 4},
        }
    ]
    assert got[0].causation == hall.events("rating.submitted")[0].seq
    hall.tick(later(T0, seconds=200))
    assert hall.events("rating.timed_out") == []


def test_a_bare_key_from_a_serial_pad_is_matched_by_its_counter(hall: Hall) -> None:
    _serve(hall, 4, "capacity_change", 0)
    hall.send("rating.submitted", "pad-4", {"level": 3}, later(T0, seconds=120))
    got = hall.events("rating.received")[0].data
    assert (got["ticket_no"], got["counter"], got["level"]) == ("C001", 4, 3)
    _serve(hall, 4, "capacity_change", 200)
    # A pad that reports the counter instead of being known by its device id.
    hall.send("rating.submitted", "bus-1", {"level": "4", "counter": 4}, later(T0, seconds=310))
    assert hall.events("rating.received")[1].data["ticket_no"] == "C002"


def test_no_score_in_time_is_a_time_out_and_a_late_score_is_not_attributed(hall: Hall) -> None:
    _serve(hall, 1, "payment", 0)
    hall.tick(later(T0, seconds=129))
    assert hall.events("rating.timed_out") == []
    hall.tick(later(T0, seconds=130))  # finished at +100, time-out 30 s
    ends = hall.events("rating.timed_out")
    assert [(e.data["rating_id"], e.data["reason"], e.causation) for e in ends] == [
        ("20261127-A001", "timeout", None)
    ]
    hall.send(
        "rating.submitted",
        "pad-1",
        {"rating_id": "20261127-A001", "level": 1},
        later(T0, seconds=140),
    )
    hall.send("rating.submitted", "pad-1", {"level": 1}, later(T0, seconds=141))
    assert hall.events("rating.received") == []


def test_bad_levels_are_ignored(hall: Hall) -> None:
    _serve(hall, 1, "payment", 0)
    for level in (0, 6, "great", None):
        hall.send(
            "rating.submitted",
            "pad-1",
            {"rating_id": "20261127-A001", "level": level},
            later(T0, seconds=110),
        )
    assert hall.events("rating.received") == []
    assert len(hall.manager.state.ratings) == 1
