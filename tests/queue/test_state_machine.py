"""Random sequences of requests, key presses, ratings, ticks and restarts (hypothesis)."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from edge.queue import catalogue as c
from tests.queue.hall import Hall, at, queue_section
from tests.queue.invariants import check_journal

SECTION = queue_section()
SERVICES = [s.code for s in SECTION.services]
ACTIONS = sorted(c.ACTIONS)


class QueueDay(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="queue-sm-"))
        self.hall = Hall(self.dir / "journal.db", SECTION)
        self.now = at("2026-11-27", "09:00:00")
        self.presses = 0

    def _advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(
        service=st.sampled_from(SERVICES),
        priority=st.sampled_from(["normal", "normal", "elderly", "vip", "appointment"]),
        dt=st.floats(0, 120),
    )
    def request(self, service: str, priority: str, dt: float) -> None:
        self._advance(dt)
        self.hall.request(service, self.now, priority=priority)

    @rule(
        counter=st.integers(1, 6),
        action=st.sampled_from(ACTIONS),
        dt=st.floats(0, 300),
        twice=st.booleans(),
        to_counter=st.integers(1, 6),
        to_service=st.sampled_from(SERVICES),
        by_service=st.booleans(),
    )
    def press(
        self,
        counter: int,
        action: str,
        dt: float,
        twice: bool,
        to_counter: int,
        to_service: str,
        by_service: bool,
    ) -> None:
        self._advance(dt)
        self.presses += 1
        extra: dict[str, object] = {"press_id": f"p{self.presses}"}
        if action == c.TRANSFER:
            extra.update({"to_service": to_service} if by_service else {"to_counter": to_counter})
        first = self.hall.press(counter, action, self.now, **extra)
        if twice:
            again = self.hall.press(counter, action, self.now + timedelta(seconds=1), **extra)
            assert not [o for o in again if getattr(o, "type", c.QUEUE_STATUS) != c.QUEUE_STATUS]
        del first

    @rule(counter=st.integers(1, 6), level=st.integers(1, 5), dt=st.floats(0, 60))
    def rate(self, counter: int, level: int, dt: float) -> None:
        self._advance(dt)
        self.hall.send(c.RATING_SUBMITTED, f"pad-{counter}", {"level": level}, self.now)

    @rule(dt=st.floats(0, 90))
    def tick(self, dt: float) -> None:
        self._advance(dt)
        self.hall.tick(self.now)

    @rule()
    def restart(self) -> None:
        before = self.hall.manager.snapshot()
        outs = self.hall.restart(self.now)
        assert all(getattr(o, "type", None) is None for o in outs)  # commands only
        assert self.hall.manager.snapshot() == before

    @invariant()
    def one_counter_per_ticket(self) -> None:
        state = self.hall.manager.state
        held = {k.current: k.number for k in state.counters.values() if k.current is not None}
        assert len(held) == sum(1 for k in state.counters.values() if k.current is not None)
        for ticket in state.tickets.values():
            if ticket.counter is not None:
                assert held.get(ticket.ticket_no) == ticket.counter
            assert ticket.target_counter is None or ticket.counter is None
        for number in held:
            assert number in state.tickets

    def teardown(self) -> None:
        try:
            # The day ends: every ticket must have ended exactly once, in order.
            self.hall.tick(self.now.replace(hour=23, minute=59) + timedelta(minutes=2))
            check_journal(self.hall.events(), SECTION)
        finally:
            self.hall.journal.close()
            shutil.rmtree(self.dir, ignore_errors=True)


TestQueueDay = QueueDay.TestCase
TestQueueDay.settings = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
