"""A whole simulated hall day, checked against the issue's invariants.

Stated error bound of the wait estimate (docs/queue.md): on this day at least 80% of
called tickets were estimated within max(5 min, 50% of their real wait), the mean error
is within max(2 min, 25% of the mean wait), and when the configured service norms are
off by a factor of 2 the estimate still beats the norm-based rule of thumb
(ahead x norm / counters whose first service it is).
"""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

import pytest

from edge.config.queue import QueueSection
from edge.queue import catalogue as c
from tests.queue.hall import SERVICES, queue_section
from tests.queue.invariants import check_journal
from tests.queue.simday import DayResult, SimulatedDay

SEED = 7


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> DayResult:
    path = tmp_path_factory.mktemp("day") / "journal.db"
    return SimulatedDay(path, queue_section(), seed=SEED).run()


def test_the_day_keeps_every_invariant(day: DayResult) -> None:
    events = day.hall.events()
    counts = check_journal(events, day.hall.section)
    kinds = Counter(e.type for e in events)
    reasons = Counter(e.data["reason"] for e in events if e.type == c.TICKET_ABANDONED)
    # The day exercised what the invariants are about.
    assert counts["issued"] >= 300 and counts["priority_calls"] >= 50
    assert counts["share_forced"] >= 5  # a normal ticket was due after max_in_row priority
    assert kinds[c.TICKET_TRANSFERRED] >= 5 and reasons["no_show"] >= 10
    assert kinds[c.TICKET_REFUSED] >= 1 and kinds[c.RATING_RECEIVED] >= 100
    assert (
        Counter(e.data["reason"] for e in events if e.type == c.RATING_TIMED_OUT)["timeout"] >= 20
    )
    assert day.duplicates >= 20 and day.repeated_requests >= 3 and day.cloud_requests >= 20
    # Every counter closed in the evening; the pauses happened.
    states = [
        (e.data["counter"], e.data["state"]) for e in events if e.type == c.COUNTER_STATE_CHANGED
    ]
    assert sum(1 for _, s in states if s == c.PAUSED_STATE) == 2
    assert sorted(k for k, s in states if s == c.CLOSED_STATE) == [1, 2, 3, 4, 5, 6]


def test_restarts_kept_the_state(day: DayResult) -> None:
    assert day.restarts_equal == 3
    issued = [o for o in day.crash_outputs if getattr(o, "type", "") == c.TICKET_ISSUED]
    assert len(issued) == 1  # the request journaled before the crash got its ticket


def test_paused_counters_were_not_counted_open(day: DayResult) -> None:
    events = day.hall.events()
    open_now: set[int] = set()
    checked = 0
    for e in events:
        if e.type == c.COUNTER_STATE_CHANGED:
            if e.data["state"] == c.OPEN_STATE:
                open_now.add(e.data["counter"])
            else:
                open_now.discard(e.data["counter"])
        elif e.type == c.QUEUE_STATUS:
            serving = {
                k.number for k in day.hall.section.counters if e.data["service"] in k.services
            }
            assert e.data["open_counters"] == len(serving & open_now)
            checked += 1
    assert checked > 200


def _errors(day: DayResult, section: QueueSection) -> tuple[list[float], list[float], list[float]]:
    issued = {e.data["request_id"]: e.data for e in day.hall.events(c.TICKET_ISSUED)}
    first = {
        s.code: max(1, sum(1 for k in section.counters if k.services[0] == s.code))
        for s in section.services
    }
    norm = {s.code: s.norm_min for s in section.services}
    est, real, naive = [], [], []
    for cu in day.customers:
        if not cu.ticket_no or cu.called_at is None:
            continue
        data = issued[cu.request_id]
        est.append(float(cu.est_wait_min))
        real.append((cu.called_at - cu.arrives).total_seconds() / 60)
        naive.append(data["waiting_ahead"] * norm[data["service"]] / first[data["service"]])
    return est, real, naive


def test_estimated_waits_are_within_the_stated_error(day: DayResult) -> None:
    est, real, _ = _errors(day, day.hall.section)
    assert len(est) >= 300
    within = sum(1 for e, r in zip(est, real, strict=True) if abs(e - r) <= max(5.0, 0.5 * r))
    assert within / len(est) >= 0.80
    bias = statistics.mean(e - r for e, r in zip(est, real, strict=True))
    assert abs(bias) <= max(2.0, 0.25 * statistics.mean(real))


def test_estimates_learn_when_the_norms_are_wrong(tmp_path: Path) -> None:
    wrong = [dict(s, norm_min=s["norm_min"] * 2) for s in SERVICES]
    section = queue_section(services=wrong)
    day = SimulatedDay(tmp_path / "journal.db", section, seed=SEED).run()
    est, real, naive = _errors(day, section)
    ours = statistics.mean(abs(e - r) for e, r in zip(est, real, strict=True))
    rule_of_thumb = statistics.mean(abs(n - r) for n, r in zip(naive, real, strict=True))
    assert ours < 0.7 * rule_of_thumb
