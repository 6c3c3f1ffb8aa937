"""The queue manager: the hub's Service that numbers tickets and runs the counters.

It decides on input events (catalogue.INPUT_TYPES) and answers with result events
(catalogue.RESULT_TYPES, each with `causation` = the input's seq) and device commands.
Results are applied to the state when decided; their journaled copies coming back through
`handle` are then ignored. After a restart, `rebuild` applies the day's journaled results
and decides on the inputs that were journaled but not yet answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.queue import QueueSection
from edge.model import HUB_DEVICE, JournaledEvent, Output
from edge.queue import catalogue as c
from edge.queue.counter_actions import decide_action
from edge.queue.hall_time import HallClock, hall_iso, instant, seconds
from edge.queue.issuing import decide_request
from edge.queue.outcome import Outcome
from edge.queue.ratings import decide_rating, expire_ratings
from edge.queue.state import QueueState, Ticket, apply
from edge.queue.status import flush_status, summary


def is_queue_result(event: JournaledEvent) -> bool:
    """True for a result event this manager made (type and the hub as its device)."""
    return event.type in c.RESULT_TYPES and event.device_id == HUB_DEVICE


class QueueManager:
    """The hall's queue system as a hub Service (edge.model.Service)."""

    name = "queue"

    def __init__(self, section: QueueSection, hall_tz: ZoneInfo) -> None:
        self.section = section
        self.clock = HallClock(hall_tz, section.reset_at, section.opening_hours)
        self.state = QueueState(window=section.estimate_window)

    @property
    def active(self) -> bool:
        return self.section.enabled and bool(self.section.services)

    def handle(self, event: JournaledEvent) -> list[Output]:
        """Decide on an input event; everything else (our own results included) is ignored.

        Events fed again from the journal (`replayed`) are ignored too: `rebuild` is the
        way back after a restart.
        """
        if not self.active or event.replayed or event.type not in c.INPUT_TYPES:
            return []
        if event.seq <= self.state.last_causation:
            return []  # answered already
        return self._decide(event)

    def tick(self, now: datetime) -> list[Output]:
        """Timers: rating time-outs, the daily reset, held-back queue.status summaries."""
        if not self.active:
            return []
        out = Outcome(self.state, instant(now), None, self.clock.tz)
        expire_ratings(out)
        self._roll_day(out)
        flush_status(out, self.section)
        return out.outputs

    def rebuild(self, events: Iterable[JournaledEvent]) -> list[Output]:
        """Rebuild the state from journaled events (at least those since `day_start(now)`).

        Result events are applied in seq order; then every input journaled after the
        highest causation seen (it came in just before a crash, unanswered) is decided on,
        and its outputs are returned for the hub to journal and send.
        """
        self.state = QueueState(window=self.section.estimate_window)
        if not self.active:
            return []
        inputs: list[JournaledEvent] = []
        for event in sorted(events, key=lambda e: e.seq):
            if is_queue_result(event):
                apply(self.state, event)
            elif event.type in c.INPUT_TYPES:
                inputs.append(event)
        answered = self.state.last_causation
        outputs: list[Output] = []
        for event in inputs:
            if event.seq > answered:
                outputs.extend(self._decide(event))
        return outputs

    def day_start(self, now: datetime) -> datetime:
        """The instant of the last daily reset: rebuild needs the journal from there on."""
        return self.clock.day_start(now)

    def snapshot(self) -> dict[str, Any]:
        """The state as plain comparable data (rebuilt state == live state)."""
        return self.state.snapshot()

    def summary(self, now: datetime) -> dict[str, Any]:
        """A read-only view for screens and the CLI: each service's queue and each counter."""
        at = instant(now)
        return {
            "day": None if self.state.day is None else self.state.day.isoformat(),
            "services": [
                summary(self.state, self.section, s.code, at) for s in self.section.services
            ],
            "counters": [
                {
                    "counter": k.number,
                    "state": self.state.counter(k.number).state,
                    "staff_id": self.state.counter(k.number).staff_id,
                    "current": self.state.counter(k.number).current,
                }
                for k in self.section.counters
            ],
        }

    def next_numbers(self, service: str, n: int) -> list[str]:
        """The first `n` tickets waiting for `service`, in issue order (for screens)."""
        waiting = [
            t for t in self.state.tickets.values() if t.service == service and t.counter is None
        ]
        return [t.ticket_no for t in sorted(waiting, key=lambda t: t.sort_key())[:n]]

    def _decide(self, event: JournaledEvent) -> list[Output]:
        out = Outcome(self.state, instant(event.time), event.seq, self.clock.tz)
        self._roll_day(out)
        if event.type == c.TICKET_REQUESTED:
            decide_request(out, event, self.section, self.clock)
        elif event.type == c.COUNTER_ACTION:
            decide_action(out, event, self.section)
        elif event.type == c.RATING_SUBMITTED:
            decide_rating(out, event, self.section)
        flush_status(out, self.section)
        return out.outputs

    def _roll_day(self, out: Outcome) -> None:
        """At the first input or tick of a new business day, end the old day and start one.

        Late events stamped in an earlier day are decided in the current one.
        """
        today = self.clock.business_day(out.at)
        state = self.state
        if state.day is not None and today <= state.day:
            return
        if state.day is not None:
            expire_ratings(out, "day_end", everything=True)
            for ticket in sorted(state.tickets.values(), key=Ticket.sort_key):
                out.emit(
                    c.TICKET_ABANDONED,
                    {
                        "ticket_no": ticket.ticket_no,
                        "counter": ticket.counter,
                        "staff_id": ""
                        if ticket.counter is None
                        else state.counter(ticket.counter).staff_id,
                        "service": ticket.service,
                        "priority": ticket.priority,
                        # Nobody served them by the end of the day: they left.
                        "reason": "left",
                        "day_end": True,
                        "issued_at": hall_iso(ticket.issued_at, self.clock.tz),
                        "wait_s": seconds(ticket.first_called_at or out.at, ticket.issued_at),
                        "calls": ticket.call_no,
                    },
                )
            for counter in sorted(state.counters.values(), key=lambda k: k.number):
                if counter.state != c.CLOSED_STATE:
                    # A clerk who never logged out: the counter's day ends here.
                    out.emit(
                        c.COUNTER_STATE_CHANGED,
                        {
                            "counter": counter.number,
                            "state": c.CLOSED_STATE,
                            "staff_id": counter.staff_id,
                            "day_end": True,
                        },
                    )
        out.emit(c.DAY_STARTED, {"day": today.isoformat()})
