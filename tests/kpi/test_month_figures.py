"""Every figure of a generated hall month against an independent computation."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

import msgspec
import pytest

from edge.config.kpi import KpiSection
from edge.kpi import (
    KPI_EVENT_TYPES,
    DayReport,
    Figures,
    MonthReport,
    PaymentMix,
    choose_model_window,
    day_report,
    month_report,
)
from edge.kpi.envelopes import reader_over
from edge.kpi.service import CROSS_MIDNIGHT_TAIL
from edge.sim.month import SHANGHAI, build_month
from edge.sim.month_truth import HallMonth
from tests.kpi.expected import model_counters, period_expectation

SECTION = KpiSection()


@pytest.fixture(scope="module")
def hall() -> HallMonth:
    return build_month(seed=11)


@pytest.fixture(scope="module")
def report(hall: HallMonth) -> MonthReport:
    return month_report(hall.events, hall.month, SHANGHAI, SECTION)


def assert_figures(actual: Figures, expected: dict[str, Any]) -> None:
    got = msgspec.json.decode(msgspec.json.encode(actual))
    assert set(got) == set(expected)
    for name, want in expected.items():
        if isinstance(want, float):
            assert got[name] == pytest.approx(want, rel=1e-12), (actual.key, name)
        else:
            assert got[name] == want, (actual.key, name)


def assert_mix(actual: PaymentMix, expected: dict[str, Any]) -> None:
    got = msgspec.to_builtins(actual)
    share = got.pop("non_counter_share")
    want = dict(expected)
    want_share = want.pop("non_counter_share")
    assert share == (None if want_share is None else pytest.approx(want_share, rel=1e-12))
    assert got == want


def assert_groups(actual: tuple[Figures, ...], expected: dict[str, dict[str, Any]]) -> None:
    assert sorted(f.key for f in actual) == sorted(expected)
    for f in actual:
        assert_figures(f, expected[f.key])


def test_the_generated_month_has_the_noise_it_claims(hall: HallMonth) -> None:
    ids = [e.id for e in hall.events]
    assert len(ids) > len(set(ids))  # same envelope id twice
    keys = [
        (e.data["ticket_no"], e.time.timestamp())
        for e in hall.events
        if e.type == "queue.ticket.completed"
    ]
    assert len(keys) > len(set(keys))  # a completion re-sent under a new id
    late = [
        e
        for e in hall.events
        if e.seq > 1 and e.time < hall.events[e.seq - 2].time - timedelta(days=1)
    ]
    assert late  # events that reached the journal a day or more after they happened
    assert any(t.ticket_no == "Z001" for t in hall.tickets)
    assert hall.closed_counter and hall.closed_from is not None


def test_month_hall_figures(hall: HallMonth, report: MonthReport) -> None:
    exp = period_expectation(hall, hall.days, SHANGHAI)
    assert_figures(report.hall, exp["hall"])
    assert report.hall.completed > 1500  # the month is not trivially small


def test_month_per_counter_staff_and_service(hall: HallMonth, report: MonthReport) -> None:
    exp = period_expectation(hall, hall.days, SHANGHAI)
    assert_groups(report.counters, exp["counters"])
    assert_groups(report.staff, exp["staff"])
    assert_groups(report.services, exp["services"])


def test_month_payments_and_feedback(hall: HallMonth, report: MonthReport) -> None:
    exp = period_expectation(hall, hall.days, SHANGHAI)
    assert_mix(report.payments, exp["payments"])
    assert msgspec.to_builtins(report.feedback) == exp["feedback"]
    assert report.feedback.complaints_open > 0


def test_every_day_row_of_the_month(hall: HallMonth, report: MonthReport) -> None:
    assert [row.day for row in report.days] == hall.days
    for row in report.days:
        exp = period_expectation(hall, [row.day], SHANGHAI)
        assert_figures(row.hall, {**exp["hall"], "key": row.day.isoformat()})
        assert_mix(row.payments, exp["payments"])
        assert msgspec.to_builtins(row.feedback) == exp["feedback"]


def test_every_day_report_read_like_the_service_reads(hall: HallMonth) -> None:
    read = reader_over(hall.events)
    for day in hall.days:
        start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
        events = read(start, start + timedelta(days=1) + CROSS_MIDNIGHT_TAIL, KPI_EVENT_TYPES)
        rep = day_report(events, day, SHANGHAI, SECTION)
        exp = period_expectation(hall, [day], SHANGHAI)
        assert_figures(rep.hall, exp["hall"])
        assert_groups(rep.counters, exp["counters"])
        assert_groups(rep.staff, exp["staff"])
        assert_groups(rep.services, exp["services"])
        assert_mix(rep.payments, exp["payments"])
        assert msgspec.to_builtins(rep.feedback) == exp["feedback"]


def test_model_window_matches_the_rule(hall: HallMonth, report: MonthReport) -> None:
    exp = period_expectation(hall, hall.days, SHANGHAI)
    window = choose_model_window(report, SECTION)
    assert window is not None
    assert list(window.counters) == model_counters(exp["counters"], SECTION.min_ratings)
    assert window.staff == tuple(exp["counters"][window.counter]["members"])
    ranks = [s.rank for s in window.standings]
    assert ranks == sorted(ranks) and ranks[0] == 1


def test_order_of_the_journal_does_not_matter(hall: HallMonth, report: MonthReport) -> None:
    shuffled = list(hall.events)
    random.Random(3).shuffle(shuffled)
    again = month_report(shuffled, hall.month, SHANGHAI, SECTION)
    assert again.to_dict() == report.to_dict()


def test_ticket_across_midnight_counts_on_its_issue_day(
    hall: HallMonth, report: MonthReport
) -> None:
    z = next(t for t in hall.tickets if t.ticket_no == "Z001")
    done_at = z.issued_at + timedelta(seconds=z.wait_s + z.service_s)
    assert done_at.date() == z.day + timedelta(days=1)  # it really ended after midnight
    on_day = report.days[hall.days.index(z.day)].hall
    next_day = report.days[hall.days.index(z.day) + 1].hall
    exp_day = period_expectation(hall, [z.day], SHANGHAI)["hall"]
    exp_next = period_expectation(hall, [z.day + timedelta(days=1)], SHANGHAI)["hall"]
    assert (on_day.completed, next_day.completed) == (exp_day["completed"], exp_next["completed"])


def test_ticket_across_the_month_end_counts_in_its_month(hall: HallMonth) -> None:
    z = next(t for t in hall.tickets if t.ticket_no == "Z002")
    assert z.day == hall.days[-1]
    december = month_report(hall.events, "2026-12", SHANGHAI, SECTION)
    # Only the next month's own first ticket (also numbered A001) counts in December.
    assert december.hall.completed == 1
    assert december.hall.issued == 1
    november_last = month_report(hall.events, hall.month, SHANGHAI, SECTION).days[-1].hall
    exp = period_expectation(hall, [hall.days[-1]], SHANGHAI)["hall"]
    assert november_last.completed == exp["completed"]


def test_counter_closed_half_the_month(hall: HallMonth, report: MonthReport) -> None:
    assert hall.closed_from is not None
    closed = next(f for f in report.counters if f.key == hall.closed_counter)
    others = [f for f in report.counters if f.key != hall.closed_counter]
    open_days = sum(
        1 for d in hall.days if d < hall.closed_from and any(t.day == d for t in hall.tickets)
    )
    assert closed.active_days <= open_days < min(f.active_days for f in others)
    assert closed.completed < min(f.completed for f in others)
    for row in report.days:
        if row.day >= hall.closed_from:
            day_rep = day_report(hall.events, row.day, SHANGHAI, SECTION)
            assert hall.closed_counter not in {f.key for f in day_rep.counters}
            break


def test_to_dict_is_plain_json(report: MonthReport) -> None:
    data = msgspec.json.decode(msgspec.json.encode(report.to_dict()))
    assert data["period"] == "month"
    assert data["month"] == "2026-11"
    assert data["days"][0]["day"] == "2026-11-01"
    assert data["hall"]["levels"] == list(report.hall.levels)


def test_day_report_to_dict(hall: HallMonth) -> None:
    rep: DayReport = day_report(hall.events, date(2026, 11, 3), SHANGHAI, SECTION)
    data = rep.to_dict()
    assert data["period"] == "day" and data["day"] == "2026-11-03"
    assert data["payments"]["counts"]["counter"] == rep.payments.counts["counter"]
