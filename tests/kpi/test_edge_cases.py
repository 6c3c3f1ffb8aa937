"""Edge cases of the figures and of the model-counter rule, on small hand-written journals."""

from __future__ import annotations

import random
from datetime import UTC, date
from fractions import Fraction
from typing import Any

import pytest

from edge.config.kpi import KpiSection
from edge.kpi import Figures, choose_model_window, day_report, model_window_data, month_report
from edge.kpi.figures import median, p90
from edge.sim.month import SHANGHAI
from tests.kpi.events import ev, rated_tickets, rating, ticket

SECTION = KpiSection()
DAY = date(2026, 11, 5)


def counter_row(report_counters: tuple[Figures, ...], key: str) -> Figures:
    return next(f for f in report_counters if f.key == key)


# -- percentiles ------------------------------------------------------------------------


def test_percentiles_nearest_rank_and_median() -> None:
    assert median([]) is None and p90([]) is None
    assert median([7.0]) == 7.0 and p90([7.0]) == 7.0
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5
    ten = [float(i) for i in range(1, 11)]
    assert p90(ten) == 9.0  # rank ceil(9.0) = 9
    eleven = [float(i) for i in range(1, 12)]
    assert p90(eleven) == 10.0  # rank ceil(9.9) = 10
    # 0.9 * 70 is 63.00000000000001 in floats; the rank must still be 63.
    seventy = [float(i) for i in range(1, 71)]
    assert p90(seventy) == 63.0


# -- no ratings, one counter, ties ------------------------------------------------------


def test_no_ratings_at_all() -> None:
    events = ticket("2026-11-05", "09:00", "A001", "1", "S01") + ticket(
        "2026-11-05", "09:10", "A002", "2", "S02"
    )
    month = month_report(events, "2026-11", SHANGHAI, SECTION)
    hall = month.hall
    assert (hall.completed, hall.rated, hall.timed_out) == (2, 0, 0)
    assert hall.avg_level is None and hall.satisfaction_rate is None
    assert hall.participation_rate == 0.0
    assert choose_model_window(month, SECTION) is None
    data = model_window_data(month, SECTION, "on_demand")
    assert data["counter"] is None and data["counters"] == []
    assert "30 ratings" in data["reason"]
    assert [s["eligible"] for s in data["standings"]] == [False, False]


def test_one_counter_only() -> None:
    events = rated_tickets("3", "S03", [5] * 25 + [4] * 5)
    month = month_report(events, "2026-11", SHANGHAI, SECTION)
    window = choose_model_window(month, SECTION)
    assert window is not None
    assert window.counters == ("3",) and window.staff == ("S03",)
    assert window.satisfaction_rate == 1.0
    assert window.avg_level == pytest.approx((25 * 5 + 5 * 4) / 30)
    fewer = month_report(events[:-4], "2026-11", SHANGHAI, SECTION)  # 29 ratings
    assert counter_row(fewer.counters, "3").rated == 29
    assert choose_model_window(fewer, SECTION) is None


def test_min_ratings_is_configurable() -> None:
    events = rated_tickets("3", "S03", [5] * 10)
    month = month_report(events, "2026-11", SHANGHAI, SECTION)
    assert choose_model_window(month, SECTION) is None
    assert choose_model_window(month, KpiSection(min_ratings=10)) is not None


def test_satisfaction_rate_decides_before_volume() -> None:
    a = rated_tickets("1", "S01", [5] * 30 + [1] * 2)  # 30/32 satisfied, more volume
    b = rated_tickets("2", "S02", [4] * 31)  # 31/31 satisfied, lower average
    month = month_report(a + b, "2026-11", SHANGHAI, SECTION)
    window = choose_model_window(month, SECTION)
    assert window is not None and window.counters == ("2",)


def test_tie_on_rate_goes_to_average_level() -> None:
    a = rated_tickets("1", "S01", [5] * 30 + [4] * 10)
    b = rated_tickets("2", "S02", [5] * 20 + [4] * 20)
    month = month_report(a + b, "2026-11", SHANGHAI, SECTION)
    window = choose_model_window(month, SECTION)
    assert window is not None and window.counters == ("1",)


def test_tie_on_rate_and_average_goes_to_volume() -> None:
    a = rated_tickets("1", "S01", [5] * 30 + [4] * 10)
    b = rated_tickets("2", "S02", [5] * 30 + [4] * 10)
    b += ticket("2026-11-06", "10:00", "X1", "2", "S02")  # one more ticket, not rated
    month = month_report(a + b, "2026-11", SHANGHAI, SECTION)
    window = choose_model_window(month, SECTION)
    assert window is not None and window.counters == ("2",)


def test_exact_tie_shares_the_title() -> None:
    a = rated_tickets("1", "S01", [5] * 30 + [3] * 10)
    b = rated_tickets("2", "S02", [5] * 30 + [3] * 10)
    c = rated_tickets("3", "S03", [5] * 30 + [1] * 10)
    month = month_report(a + b + c, "2026-11", SHANGHAI, SECTION)
    window = choose_model_window(month, SECTION)
    assert window is not None
    assert window.counters == ("1", "2") and window.counter == "1"
    assert window.staff == ("S01", "S02")
    assert [(s.counter, s.rank) for s in window.standings] == [("1", 1), ("2", 1), ("3", 3)]


def test_rates_tie_exactly_not_by_float_rounding() -> None:
    # 2/3 and 20/30 are the same rate; in floats 1 - 1/3 is not 2/3.
    a = rated_tickets("1", "S01", [5] * 20 + [3] * 10)
    b = rated_tickets("2", "S02", [5] * 40 + [3] * 20)
    month = month_report(a + b, "2026-11", SHANGHAI, SECTION)
    window = choose_model_window(month, SECTION)
    assert window is not None
    assert Fraction(window.satisfaction_rate).limit_denominator(100) == Fraction(2, 3)
    assert window.counters == ("2",)  # same rate and average: the higher volume wins


# -- duplicates and late events ---------------------------------------------------------


def test_duplicates_by_envelope_id_and_business_key() -> None:
    events = ticket("2026-11-05", "09:00", "A001", "1", "S01")
    done = events[-1]
    events.append(done)  # the same envelope delivered twice
    events.append(ev(done.type, done.time.isoformat(), **done.data))  # re-sent under a new id
    r = rating("2026-11-05 09:10", "R1", "1", 2, "S01", "A001")
    events += [r, r, ev(r.type, r.time.isoformat(), **r.data)]
    fb = ev("feedback.submitted", "2026-11-05 10:00", feedback_id="F1", category="complaint")
    events += [fb, ev(fb.type, fb.time.isoformat(), **fb.data)]
    pay = ev("kiosk.payment", "2026-11-05 11:00", amount_cents=100, channel="wechat", result="ok")
    events += [pay, pay]
    rep = day_report(events, DAY, SHANGHAI, SECTION)
    assert (rep.hall.issued, rep.hall.completed, rep.hall.rated, rep.hall.poor) == (1, 1, 1, 1)
    assert rep.feedback.complaints == 1 and rep.feedback.complaints_open == 1
    assert rep.payments.counts["wechat"] == 1 and rep.payments.total == 2


def test_same_ticket_number_on_two_days_is_two_tickets() -> None:
    events = ticket("2026-11-05", "09:00", "A001", "1", "S01") + ticket(
        "2026-11-06", "09:00", "A001", "1", "S01"
    )
    month = month_report(events, "2026-11", SHANGHAI, SECTION)
    assert month.hall.completed == 2
    assert [r.hall.completed for r in month.days[4:6]] == [1, 1]


def test_late_event_counts_on_the_day_it_happened() -> None:
    early = ticket("2026-11-05", "09:00", "A001", "1", "S01")
    later = ticket("2026-11-08", "09:00", "A001", "1", "S01")
    # The rating pad was offline for days: its event is journaled after the 8th's events.
    late_rating = rating("2026-11-05 09:10", "R-late", "1", 5)
    events = early + later + [late_rating]
    assert late_rating.seq > later[-1].seq
    month = month_report(events, "2026-11", SHANGHAI, SECTION)
    assert [r.hall.rated for r in month.days[4:8]] == [1, 0, 0, 0]
    assert day_report(events, date(2026, 11, 8), SHANGHAI, SECTION).hall.rated == 0


def test_event_time_in_any_offset_is_dated_in_hall_time() -> None:
    # 17:30 UTC on the 4th is 01:30 on the 5th in Shanghai.
    pay = ev("kiosk.payment", "2026-11-04T17:30:00+00:00", channel="alipay", result="ok")
    rep5 = day_report([pay], DAY, SHANGHAI, SECTION)
    rep4 = day_report([pay], date(2026, 11, 4), SHANGHAI, SECTION)
    assert (rep5.payments.counts["alipay"], rep4.payments.counts["alipay"]) == (1, 0)
    assert day_report([pay], date(2026, 11, 4), UTC, SECTION).payments.counts["alipay"] == 1


# -- tickets, ratings, channels, feedback -----------------------------------------------


def test_ticket_completed_after_midnight_counts_on_its_issue_day() -> None:
    events = ticket("2026-11-05", "23:50", "A099", "1", "S01", wait_s=300, service_s=900)
    assert events[-1].time.day == 6
    events.append(rating(events[-1].time.isoformat(), "R99", "1", 5, no="A099"))
    events += ticket(
        "2026-11-06", "00:05", "A099", "1", "S01", wait_s=10, service_s=20
    )  # 24 h hall
    day5 = day_report(events, DAY, SHANGHAI, SECTION)
    day6 = day_report(events, date(2026, 11, 6), SHANGHAI, SECTION)
    assert (day5.hall.issued, day5.hall.completed, day5.hall.rated) == (1, 1, 1)
    assert (day6.hall.issued, day6.hall.completed, day6.hall.rated) == (1, 1, 0)
    assert day5.hall.service_median_s == 900.0 and day6.hall.service_median_s == 20.0


def test_rating_after_its_time_out_counts_as_rated_not_timed_out() -> None:
    events = ticket("2026-11-05", "09:00", "A001", "1", "S01")
    events.append(ev("rating.timed_out", "2026-11-05 09:10", rating_id="R1", counter="1"))
    events.append(ev("rating.timed_out", "2026-11-05 09:11", rating_id="R2", counter="1"))
    events.append(rating("2026-11-05 09:12", "R1", "1", 5))
    rep = day_report(events, DAY, SHANGHAI, SECTION)
    assert (rep.hall.rated, rep.hall.timed_out, rep.hall.satisfied) == (1, 1, 1)
    assert rep.hall.satisfaction_rate == 1.0  # the time-out is not in the denominator


def test_staff_of_a_rating_without_staff_id() -> None:
    events = ticket("2026-11-05", "09:00", "A001", "1", "S01")
    events += ticket("2026-11-05", "09:00", "B001", "2", "S02")
    events.append(
        ev("counter.state_changed", "2026-11-05 08:30", counter="3", state="open", staff_id="S03")
    )
    # staff from rating.requested, from the rated ticket, from who opened the counter
    events.append(
        ev(
            "rating.requested",
            "2026-11-05 09:09",
            rating_id="R1",
            counter="1",
            staff_id="S01",
            ticket_no="A001",
        )
    )
    events.append(rating("2026-11-05 09:10", "R1", "1", 5))
    events.append(rating("2026-11-05 09:10", "R2", "2", 4, no="B001"))
    events.append(rating("2026-11-05 09:30", "R3", "3", 1))
    rep = day_report(events, DAY, SHANGHAI, SECTION)
    rated = {f.key: f.rated for f in rep.staff}
    assert rated == {"S01": 1, "S02": 1, "S03": 1}
    services = {f.key: f.rated for f in rep.services}
    assert services == {"payment": 2, "unknown": 1}


def test_no_show_belongs_to_the_calling_counter_left_to_none() -> None:
    events = [
        ev("queue.ticket.issued", "2026-11-05 09:00", ticket_no="B001", service="new_install"),
        ev(
            "queue.ticket.called", "2026-11-05 09:10", ticket_no="B001", counter="4", staff_id="S04"
        ),
        ev(
            "queue.ticket.abandoned",
            "2026-11-05 09:12",
            ticket_no="B001",
            reason="no_show",
            wait_s=720,
        ),
        ev("queue.ticket.issued", "2026-11-05 09:01", ticket_no="B002", service="new_install"),
        ev(
            "queue.ticket.abandoned",
            "2026-11-05 09:20",
            ticket_no="B002",
            reason="left",
            wait_s=1140,
        ),
    ]
    rep = day_report(events, DAY, SHANGHAI, SECTION)
    assert (rep.hall.abandoned, rep.hall.no_show, rep.hall.left) == (2, 1, 1)
    assert [(f.key, f.no_show, f.left) for f in rep.counters] == [("4", 1, 0)]
    service = rep.services[0]
    assert (service.key, service.issued, service.abandoned) == ("new_install", 2, 2)


def test_service_norms_boundaries() -> None:
    events = ticket("2026-11-05", "09:00", "A1", "1", "S01", service_s=300)  # 5:00 exactly
    events += ticket("2026-11-05", "09:30", "A2", "1", "S01", service_s=301)
    events += ticket("2026-11-05", "10:00", "B1", "1", "S01", service_s=1200, service="new_install")
    events += ticket("2026-11-05", "11:00", "B2", "1", "S01", service_s=1201, service="new_install")
    events += ticket("2026-11-05", "12:00", "Q1", "1", "S01", service_s=1200, service="meter_check")
    rep = day_report(events, DAY, SHANGHAI, SECTION)
    norms = {f.key: (f.within_norm, f.completed) for f in rep.services}
    assert norms == {"payment": (1, 2), "new_install": (1, 2), "meter_check": (1, 1)}
    strict = KpiSection(norms_min={"payment": 4.0}, default_norm_min=10.0)
    rep2 = day_report(events, DAY, SHANGHAI, strict)
    assert {f.key: f.within_norm for f in rep2.services} == {
        "payment": 0,
        "new_install": 0,
        "meter_check": 0,
    }


def test_payment_channel_mix() -> None:
    events = ticket("2026-11-05", "09:00", "A1", "1", "S01")  # a payment at the counter
    events += ticket("2026-11-05", "09:30", "E1", "1", "S01", service="invoice")  # not a payment
    for channel, result in [
        ("wechat", "ok"),
        ("alipay", "success"),
        ("cash", "ok"),
        ("card", None),
        ("unionpay", "failed"),
        ("ecny", "ok"),
    ]:
        data: dict[str, Any] = {"channel": channel, "amount_cents": 500}
        if result is not None:
            data["result"] = result
        events.append(ev("kiosk.payment", "2026-11-05 10:00", **data))
    rep = day_report(events, DAY, SHANGHAI, SECTION)
    assert rep.payments.counts == {
        "counter": 1,
        "kiosk": 2,
        "wechat": 1,
        "alipay": 1,
        "unionpay": 0,
        "ecny": 1,
    }
    assert (rep.payments.total, rep.payments.non_counter, rep.payments.kiosk_failed) == (6, 5, 1)
    assert rep.payments.non_counter_share == pytest.approx(5 / 6)


def test_complaints_left_open_at_the_end_of_the_period() -> None:
    events = [
        ev("feedback.submitted", "2026-11-05 10:00", feedback_id="F1", category="complaint"),
        ev("feedback.submitted", "2026-11-05 11:00", feedback_id="F2", category="complaint"),
        ev("feedback.submitted", "2026-11-05 12:00", feedback_id="F3", category="complaint"),
        ev("feedback.submitted", "2026-11-05 12:00", category="praise"),
        ev("feedback.submitted", "2026-11-05 12:00", category="suggestion"),
        ev("feedback.submitted", "2026-11-05 12:00", category="question"),
        ev("feedback.closed", "2026-11-05 16:00", feedback_id="F1"),
        ev("feedback.closed", "2026-11-06 09:00", feedback_id="F2"),  # closed the next day
    ]
    rep = day_report(events, DAY, SHANGHAI, SECTION)
    fb = rep.feedback
    assert (fb.complaints, fb.praise, fb.suggestions, fb.other, fb.complaints_open) == (
        3,
        1,
        1,
        1,
        2,
    )
    month = month_report(events, "2026-11", SHANGHAI, SECTION)
    assert month.feedback.complaints_open == 1  # F2 was closed before the month's end
    assert month.days[4].feedback.complaints_open == 2


def test_counters_sent_as_numbers_and_as_text_are_one_counter() -> None:
    events = ticket("2026-11-05", "09:00", "A1", "7", "S07")
    events.append(ev("rating.submitted", "2026-11-05 09:10", rating_id="R1", counter=7, level=5))
    rep = day_report(events, DAY, SHANGHAI, SECTION)
    assert [(f.key, f.completed, f.rated) for f in rep.counters] == [("7", 1, 1)]


def test_idle_open_counter_has_a_row_and_ranks_last() -> None:
    events = rated_tickets("1", "S01", [5, 5], day="2026-11-05")
    events.append(
        ev("counter.state_changed", "2026-11-05 08:30", counter="9", state="open", staff_id="S09")
    )
    rep = day_report(events, DAY, SHANGHAI, SECTION)
    assert [f.key for f in rep.counters] == ["1", "9"]
    assert rep.counters[1].completed == 0 and rep.counters[1].rated == 0


def test_invalid_levels_are_ignored() -> None:
    events = ticket("2026-11-05", "09:00", "A1", "1", "S01")
    events += [
        ev("rating.submitted", "2026-11-05 09:10", rating_id="R1", counter="1", level=6),
        ev("rating.submitted", "2026-11-05 09:10", rating_id="R2", counter="1", level="5"),
        ev("rating.submitted", "2026-11-05 09:10", rating_id="R3", counter="1", level=True),
    ]
    assert day_report(events, DAY, SHANGHAI, SECTION).hall.rated == 0


def test_shuffled_small_journal_gives_the_same_report() -> None:
    events = rated_tickets("1", "S01", [5, 4, 3, 2, 1]) + rated_tickets("2", "S02", [5, 5, 1])
    shuffled = list(events)
    random.Random(1).shuffle(shuffled)
    assert day_report(shuffled, DAY, SHANGHAI, SECTION) == day_report(
        events, DAY, SHANGHAI, SECTION
    )


def test_bad_month_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_report([], "2026-13", SHANGHAI, SECTION)


def test_rating_never_joins_a_ticket_of_the_same_number_from_another_day() -> None:
    events = ticket("2026-11-05", "09:00", "A001", "1", "S01", service="invoice")
    # The 6th's A001 completion never reached the journal; its rating did.
    events.append(rating("2026-11-06 09:10", "R6", "1", 5, no="A001"))
    month = month_report(events, "2026-11", SHANGHAI, SECTION)
    assert [r.hall.rated for r in month.days[4:6]] == [0, 1]
    assert {f.key: f.rated for f in month.services} == {"invoice": 0, "unknown": 1}
