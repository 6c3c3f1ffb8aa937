"""tick(): schedules in the hall's time zone, debounce expiries, missed schedules."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.rules.schedules import parse_schedule
from tests.rules.helpers import T0, TZ, Feed, alerts, engine_from

DAILY = """
rules:
  - id: closing
    description: at 18:00 hall time, remind if tickets are waiting
    trigger: {schedule: "daily 18:00"}
    when: value('waiting', 0) > 0
    actions:
      - alert: {message: "18:00 仍有{state.waiting}人等候", severity: info}
  - id: note-waiting
    description: remember the number waiting
    trigger: queue.status
    actions:
      - state: {set: waiting, value: data.waiting}
"""


def test_daily_schedule_fires_at_hall_time_once() -> None:
    # T0 is 09:00 Asia/Shanghai; 18:00 there is 10:00 UTC
    sched = parse_schedule("daily 18:00")
    nxt = sched.next_after(T0, TZ)
    assert nxt == datetime(2026, 11, 27, 18, 0, tzinfo=TZ)
    assert nxt.astimezone(ZoneInfo("UTC")).hour == 10


def test_weekdays_and_every() -> None:
    friday_evening = datetime(2026, 11, 27, 19, 0, tzinfo=TZ)
    assert parse_schedule("weekdays 08:30").next_after(friday_evening, TZ) == datetime(
        2026, 11, 30, 8, 30, tzinfo=TZ
    )
    every = parse_schedule("every 15m")
    assert every.next_after(datetime(2026, 11, 27, 9, 7, tzinfo=TZ), TZ) == datetime(
        2026, 11, 27, 9, 15, tzinfo=TZ
    )


def test_scheduled_rule_with_condition_on_state(tmp_path: Path) -> None:
    engine = engine_from(tmp_path, DAILY)
    feed = Feed()
    assert engine.tick(T0) == []  # first tick learns the next due time
    engine.evaluate(feed("queue.status", {"service": "payment", "waiting": 4}, at=60))
    assert engine.tick(datetime(2026, 11, 27, 17, 59, 59, tzinfo=TZ)) == []
    out = engine.tick(datetime(2026, 11, 27, 18, 0, 1, tzinfo=TZ))
    assert [a["message"] for a in alerts(out)] == ["18:00 仍有4人等候"]
    assert out[0].causation is None  # type: ignore[union-attr]
    assert engine.tick(datetime(2026, 11, 27, 18, 0, 2, tzinfo=TZ)) == []
    # next day, nobody waiting: the condition stops it
    engine.evaluate(feed("queue.status", {"service": "payment", "waiting": 0}, at=3600 * 12))
    assert engine.tick(datetime(2026, 11, 28, 18, 0, 1, tzinfo=TZ)) == []


def test_schedule_missed_while_down_is_not_fired_late(tmp_path: Path) -> None:
    engine = engine_from(tmp_path, DAILY)
    engine.evaluate(Feed()("queue.status", {"waiting": 2}))
    engine.tick(T0)
    blob = engine.dump_state()
    later = engine_from(tmp_path, DAILY)
    later.load_state(blob)
    # back up at 18:10: within the 15-minute grace, fires once
    assert len(alerts(later.tick(datetime(2026, 11, 27, 18, 10, tzinfo=TZ)))) == 1
    again = engine_from(tmp_path, DAILY)
    again.load_state(blob)
    # back up the next morning: yesterday's 18:00 is recorded as missed
    assert again.tick(datetime(2026, 11, 28, 9, 0, tzinfo=TZ)) == []
    assert again.traces("closing")[-1]["result"] == "missed"


def test_debounce_restart_fires_after_quiet_period(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: settle
            description: the last counter action of a burst, after 30 s of quiet
            trigger: counter.action
            debounce: {key: data.counter, period: 30s}
            actions: [{alert: {message: "{data.counter}:{data.action}"}}]
    """,
    )
    feed = Feed()
    engine.evaluate(feed("counter.action", {"counter": 1, "action": "pause"}, at=0))
    engine.evaluate(feed("counter.action", {"counter": 1, "action": "resume"}, at=20))
    engine.evaluate(feed("counter.action", {"counter": 2, "action": "pause"}, at=25))
    assert engine.tick(T0 + timedelta(seconds=40)) == []  # counter 1 restarted at 20
    out = engine.tick(T0 + timedelta(seconds=56))
    assert [a["message"] for a in alerts(out)] == ["1:resume", "2:pause"]


def test_tick_is_cheap_when_nothing_is_due(tmp_path: Path) -> None:
    engine = engine_from(tmp_path, DAILY)
    engine.tick(T0)
    before = engine.dirty
    engine.dump_state()
    for s in range(1, 100):
        assert engine.tick(T0 + timedelta(seconds=s)) == []
    assert before is True and engine.dirty is False
