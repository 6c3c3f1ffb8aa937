"""The KPI service on the hub's real journal (edge.store): daily report, model counter, command."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from edge.config.kpi import KpiSection
from edge.errors import CommandError
from edge.kpi import KPI_EVENT_TYPES, KpiService, choose_model_window, day_report, month_report
from edge.model import BAD_ARGS, Event
from edge.sim.month import SHANGHAI, build_month
from edge.sim.month_truth import HallMonth
from tests.kpi.journal import HubJournal, as_new_events

SECTION = KpiSection(min_ratings=20)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def hall() -> HallMonth:
    return build_month(seed=5, counters=4, tickets_per_day=30)


@pytest.fixture(scope="module")
def journal_file(hall: HallMonth, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The month journaled once by the real store; each test gets a copy."""
    path = tmp_path_factory.mktemp("kpi") / "month.db"
    j = HubJournal(path)
    j.append(as_new_events(hall.events))
    j.close()  # checkpoints the WAL into the file
    return path


@pytest.fixture
def journal(tmp_path: Path, journal_file: Path) -> Iterator[HubJournal]:
    shutil.copy(journal_file, tmp_path / "hall.db")
    j = HubJournal(tmp_path / "hall.db")
    yield j
    j.close()


def service(journal: HubJournal, section: KpiSection = SECTION) -> KpiService:
    return KpiService(section, SHANGHAI, journal.read_events)


def run(svc: KpiService, journal: HubJournal, now: datetime) -> list[Event]:
    """One tick, with the hub's part: journal what came out and feed it back."""
    outputs = svc.tick(now)
    for stored in journal.publish(outputs):
        assert svc.handle(stored) == ()
    return [o for o in outputs if isinstance(o, Event)]


def test_daily_report_once_when_the_hall_closes(journal: HubJournal, hall: HallMonth) -> None:
    svc = service(journal)
    assert run(svc, journal, local("2026-11-27 17:59:59")) == []
    out = run(svc, journal, local("2026-11-27 18:00:00"))
    assert [(e.type, e.device_id) for e in out] == [("kpi.daily", "hub")]
    assert out[0].time == local("2026-11-27 18:00:00")
    expected = day_report(hall.events, date(2026, 11, 27), SHANGHAI, SECTION).to_dict()
    assert out[0].data == expected
    assert out[0].data["hall"]["completed"] > 0
    for minute in (1, 30, 300):
        assert run(svc, journal, local("2026-11-27 18:00") + timedelta(minutes=minute)) == []
    assert journal.count("kpi.daily") == 1


def test_daily_report_not_repeated_after_a_restart(journal: HubJournal) -> None:
    run(service(journal), journal, local("2026-11-27 18:00:05"))
    again = service(journal)  # the hub restarted
    assert run(again, journal, local("2026-11-27 18:30")) == []
    reads = len(journal.reads)
    for second in range(5):  # the journal is asked once, not every second
        assert run(again, journal, local("2026-11-27 18:31") + timedelta(seconds=second)) == []
    assert len(journal.reads) == reads
    assert journal.count("kpi.daily") == 1


def test_daily_report_late_when_the_hub_was_down_at_closing(journal: HubJournal) -> None:
    svc = service(journal)
    out = run(svc, journal, local("2026-11-27 20:15"))
    assert [e.data["day"] for e in out] == ["2026-11-27"]
    # The next morning: the day has not closed yet, and yesterday is not published again.
    assert run(svc, journal, local("2026-11-28 09:00")) == []


def test_no_daily_report_for_a_day_without_activity(tmp_path: Path) -> None:
    empty = HubJournal(tmp_path / "empty.db")
    svc = service(empty)
    assert run(svc, empty, local("2026-11-27 18:00")) == []
    assert run(svc, empty, local("2026-12-01 06:00")) == []  # no month to close either
    empty.close()


def test_replayed_daily_report_is_noted_without_reading_the_journal(journal: HubJournal) -> None:
    first = service(journal)
    run(first, journal, local("2026-11-27 18:00"))
    stored = journal.read_events(
        local("2026-11-27 00:00"), local("2026-11-28 00:00"), ("kpi.daily",)
    )
    fresh = service(journal)
    fresh.handle(stored[0])  # the hub replays the journal at start
    journal.reads.clear()
    assert run(fresh, journal, local("2026-11-27 18:10")) == []
    assert not any("kpi.daily" in types for _s, _e, types in journal.reads)


def test_model_window_when_the_month_closes(journal: HubJournal, hall: HallMonth) -> None:
    svc = service(journal)
    assert run(svc, journal, local("2026-12-01 05:59:59")) == []
    out = run(svc, journal, local("2026-12-01 06:00"))
    assert [e.type for e in out] == ["kpi.model_window"]
    data = out[0].data
    expected = choose_model_window(month_report(hall.events, "2026-11", SHANGHAI, SECTION), SECTION)
    assert expected is not None
    assert data["month"] == "2026-11" and data["trigger"] == "month_closed"
    assert data["counter"] == expected.counter and data["counters"] == list(expected.counters)
    assert run(svc, journal, local("2026-12-01 07:00")) == []
    assert run(service(journal), journal, local("2026-12-02 07:00")) == []  # restarted
    assert journal.count("kpi.model_window") == 1


def test_model_window_published_later_if_the_hub_was_down_on_the_first(
    journal: HubJournal,
) -> None:
    # The hub was down from the 30th to the 5th: the month closes when it is back.
    out = run(service(journal), journal, local("2026-12-05 10:00"))
    assert [(e.type, e.data["month"]) for e in out] == [("kpi.model_window", "2026-11")]
    assert run(service(journal), journal, local("2026-12-20 10:00")) == []


def test_on_demand_model_window_does_not_stop_the_scheduled_one(journal: HubJournal) -> None:
    svc = service(journal)
    on_demand = svc.model_window_event("2026-11")
    assert (on_demand.type, on_demand.device_id, on_demand.time) == (
        "kpi.model_window",
        "hub",
        None,
    )
    assert on_demand.data["trigger"] == "on_demand"
    journal.publish([replace(on_demand, time=local("2026-12-01 05:00"))])
    out = run(svc, journal, local("2026-12-01 06:00"))
    assert [e.data["trigger"] for e in out] == ["month_closed"]


def test_disabled_service_does_nothing(journal: HubJournal) -> None:
    svc = service(journal, KpiSection(enabled=False))
    assert run(svc, journal, local("2026-11-27 18:00")) == []
    assert run(svc, journal, local("2026-12-01 06:00")) == []
    assert journal.reads == []


def test_closing_time_and_zone_are_the_halls(journal: HubJournal) -> None:
    svc = KpiService(KpiSection(closing_time="17:30"), UTC, journal.read_events)
    assert run(svc, journal, datetime(2026, 11, 27, 17, 29, tzinfo=UTC)) == []
    out = run(svc, journal, datetime(2026, 11, 27, 17, 30, tzinfo=UTC))
    assert out[0].data["day"] == "2026-11-27" and out[0].data["timezone"] == "UTC"


def test_reads_cover_the_day_and_tickets_that_end_after_midnight(journal: HubJournal) -> None:
    svc = service(journal)
    svc.day_report(date(2026, 11, 27))
    start, end, types = journal.reads[-1]
    assert start == local("2026-11-27 00:00")
    assert end == local("2026-11-28 12:00")
    assert set(types) == set(KPI_EVENT_TYPES)
    svc.month_report("2026-11")
    start, end, _types = journal.reads[-1]
    assert (start, end) == (local("2026-11-01 00:00"), local("2026-12-01 12:00"))


def test_report_command(journal: HubJournal, hall: HallMonth) -> None:
    svc = service(journal)
    day = svc.report(day="2026-11-27")
    assert day["period"] == "day" and day["day"] == "2026-11-27"
    assert day == day_report(hall.events, date(2026, 11, 27), SHANGHAI, SECTION).to_dict()
    month = svc.report(month="2026-11")
    assert month["period"] == "month" and len(month["days"]) == 30
    assert month["model_window"]["month"] == "2026-11"
    assert month["hall"]["completed"] == sum(d["hall"]["completed"] for d in month["days"])


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"day": "2026-11-27", "month": "2026-11"},
        {"day": "2026-11-31"},
        {"day": "2026/11/27"},
        {"day": "20261127"},
        {"day": 20261127},
        {"month": "2026-13"},
        {"month": "26-11"},
        {"month": "2026-11-01"},
    ],
)
def test_report_command_rejects_bad_args(journal: HubJournal, args: dict[str, object]) -> None:
    with pytest.raises(CommandError) as info:
        service(journal).report(**args)  # type: ignore[arg-type]
    assert info.value.code == BAD_ARGS


def test_model_window_event_for_a_month_without_enough_ratings(journal: HubJournal) -> None:
    svc = service(journal, KpiSection(min_ratings=100_000))
    data = svc.model_window_event("2026-11").data
    assert data["counter"] is None and data["month"] == "2026-11"
    assert len(data["standings"]) == 4
    with pytest.raises(CommandError):
        svc.model_window_event("November")
