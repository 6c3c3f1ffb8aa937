"""Event sourcing: live state == state rebuilt from the journal; crashes; own results."""

from __future__ import annotations

import copy

from edge.config.queue import QueueSection
from edge.model import Event, JournaledEvent, Service
from edge.queue import QueueManager, is_queue_result
from tests.queue.hall import SHANGHAI, Hall, at, later

DAY = "2026-11-27"
T0 = at(DAY, "09:00:00")


def _busy_morning(hall: Hall) -> None:
    for i, (service, prio) in enumerate(
        [
            ("payment", "normal"),
            ("payment", "vip"),
            ("new_install", "normal"),
            ("invoice", "elderly"),
            ("payment", "normal"),
            ("consultation", "normal"),
        ]
    ):
        hall.request(service, later(T0, seconds=i * 7), priority=prio)
    hall.press(1, "call_next", later(T0, seconds=60), staff_id="S01", press_id="a")
    hall.press(3, "call_next", later(T0, seconds=61), staff_id="S03")
    hall.press(2, "open", later(T0, seconds=62), staff_id="S02")
    hall.press(2, "pause", later(T0, seconds=63))
    hall.press(1, "finish", later(T0, seconds=300))
    hall.press(3, "transfer", later(T0, seconds=400), to_counter=1)
    hall.press(5, "call_next", later(T0, seconds=410))
    hall.press(5, "recall", later(T0, seconds=440))
    hall.tick(later(T0, seconds=450))


def test_rebuilt_state_equals_live_state(hall: Hall) -> None:
    _busy_morning(hall)
    live = hall.manager.snapshot()
    assert live["tickets"] and live["counters"] and live["service_times"]
    assert hall.rebuilt_snapshot(later(T0, seconds=460)) == live


def test_rebuild_ignores_older_days_and_other_events(hall: Hall) -> None:
    hall.request("payment", at("2026-11-26", "15:00:00"))
    hall.send("footfall.counted", "cam-1", {"entered": 3}, at(DAY, "08:00:00"))
    _busy_morning(hall)
    fresh = QueueManager(hall.section, SHANGHAI)
    # Given the whole journal (yesterday's too), the day boundary resets the state.
    assert fresh.rebuild(hall.journal.events()) == []
    assert fresh.snapshot() == hall.manager.snapshot()


def test_an_input_journaled_before_a_crash_is_decided_by_the_rebuild(hall: Hall) -> None:
    _busy_morning(hall)
    live = copy.deepcopy(hall.manager)
    hall.journal_only(
        "queue.ticket.requested",
        "kiosk-2",
        {"request_id": "crash-1", "service": "payment"},
        later(T0, seconds=500),
    )
    crashed = hall.journal.events()[-1]
    expected = live.handle(crashed)
    outs = hall.restart(later(T0, seconds=600))
    assert [(o.type, dict(o.data), o.causation) for o in outs if isinstance(o, Event)] == [
        (o.type, dict(o.data), o.causation) for o in expected if isinstance(o, Event)
    ]
    assert [o for o in outs if not isinstance(o, Event)] == [
        o for o in expected if not isinstance(o, Event)
    ]
    assert hall.sent("kiosk-2", "ticket.print")[0].args["request_id"] == "crash-1"
    assert hall.manager.snapshot() == live.snapshot()
    # Restarting again answers nothing twice.
    assert hall.restart(later(T0, seconds=700)) == []


def test_handle_ignores_its_own_results_and_replays(hall: Hall) -> None:
    _busy_morning(hall)
    before = hall.manager.snapshot()
    for ev in hall.journal.events():
        if is_queue_result(ev):
            assert hall.manager.handle(ev) == []
        replay = JournaledEvent(
            ev.seq, ev.id, ev.type, ev.device_id, ev.time, ev.data, ev.causation, replayed=True
        )
        assert hall.manager.handle(replay) == []
    assert hall.manager.snapshot() == before


def test_an_input_fed_twice_is_answered_once(hall: Hall) -> None:
    hall.request("payment", T0)
    request = hall.events("queue.ticket.requested")[0]
    assert hall.manager.handle(request) == []


def test_a_result_type_from_a_device_is_not_adopted(hall: Hall) -> None:
    hall.send("queue.ticket.issued", "old-kiosk", {"ticket_no": "Z999"}, T0)
    assert hall.manager.snapshot()["tickets"] == {}


def test_the_state_survives_a_restart_at_any_point(hall: Hall) -> None:
    hall.checkpoints = []
    _busy_morning(hall)
    journal = hall.journal.events()
    assert len(hall.checkpoints) == 15
    for n, live in hall.checkpoints:
        fresh = QueueManager(hall.section, SHANGHAI)
        outs = fresh.rebuild(journal[:n])
        assert not [o for o in outs if isinstance(o, Event)], n
        assert fresh.snapshot() == live, n


def test_manager_without_services_does_nothing() -> None:
    idle = QueueManager(QueueSection(), SHANGHAI)
    service: Service = idle  # the hub's Service protocol (checked by mypy)
    assert service.name == "queue"
    ev = JournaledEvent(1, "x", "queue.ticket.requested", "kiosk", T0, {"service": "payment"})
    assert idle.handle(ev) == [] and idle.tick(T0) == [] and idle.rebuild([ev]) == []
