"""queue.status: per service, on change, at most once per interval, flushed by tick."""

from __future__ import annotations

from edge.model import Event
from tests.queue.hall import Hall, at, later

DAY = "2026-11-27"
T0 = at(DAY, "09:00:00")


def _status(hall: Hall, service: str) -> list[dict[str, object]]:
    return [dict(e.data) for e in hall.events("queue.status") if e.data["service"] == service]


def test_first_tick_sends_every_service(hall: Hall) -> None:
    outs = hall.tick(T0)
    assert [
        o.data["service"] for o in outs if isinstance(o, Event) and o.type == "queue.status"
    ] == [
        "payment",
        "new_install",
        "capacity_change",
        "invoice",
        "consultation",
    ]
    assert all(e.device_id == "hub" and e.causation is None for e in hall.events("queue.status"))


def test_changes_are_rate_limited_and_flushed(hall: Hall) -> None:
    hall.tick(T0)
    hall.request("payment", later(T0, seconds=1))  # 1 s after the last status: held back
    hall.request("payment", later(T0, seconds=2))
    assert len(_status(hall, "payment")) == 1
    hall.tick(later(T0, seconds=4))
    assert len(_status(hall, "payment")) == 1
    hall.tick(later(T0, seconds=5))
    last = _status(hall, "payment")[-1]
    assert len(_status(hall, "payment")) == 2
    assert {
        k: last[k] for k in ("waiting", "longest_wait_s", "open_counters", "oldest_ticket")
    } == {"waiting": 2, "longest_wait_s": 4, "open_counters": 0, "oldest_ticket": "A001"}
    # Only the longest wait grows: no change, nothing sent.
    hall.tick(later(T0, seconds=60))
    assert len(_status(hall, "payment")) == 2
    # Other services did not change at all.
    assert len(_status(hall, "invoice")) == 1


def test_a_change_after_the_interval_goes_at_once(hall: Hall) -> None:
    hall.tick(T0)
    outs = hall.press(1, "open", later(T0, seconds=10))
    sent = [o.data for o in outs if isinstance(o, Event) and o.type == "queue.status"]
    assert [(s["service"], s["open_counters"]) for s in sent] == [("payment", 1), ("invoice", 1)]
