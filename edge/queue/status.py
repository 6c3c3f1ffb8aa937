"""queue.status: the per-service summary for hall screens and the cloud, rate-limited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.config.queue import QueueSection
from edge.queue import catalogue as c
from edge.queue.estimate import estimate_wait_s, waiting_ahead
from edge.queue.hall_time import seconds
from edge.queue.outcome import Outcome
from edge.queue.state import QueueState, Ticket


@dataclass(slots=True)
class _Line:
    """One service's queue as a status shows it."""

    waiting: int = 0
    oldest: Ticket | None = None
    open_counters: int = 0

    def key(self) -> tuple[int, int, str | None]:
        return (
            self.waiting,
            self.open_counters,
            None if self.oldest is None else self.oldest.ticket_no,
        )


def _lines(state: QueueState, section: QueueSection) -> dict[str, _Line]:
    """Every service's line in one pass over the tickets (a tick must stay cheap)."""
    lines = {s.code: _Line() for s in section.services}
    for t in state.tickets.values():
        line = lines.get(t.service)
        if line is None or t.counter is not None:
            continue
        line.waiting += 1
        if line.oldest is None or t.sort_key() < line.oldest.sort_key():
            line.oldest = t
    for k in section.counters:
        if state.counter(k.number).state == c.OPEN_STATE:
            for service in k.services:
                if service in lines:
                    lines[service].open_counters += 1
    return lines


def _summary(
    state: QueueState, section: QueueSection, service: str, line: _Line, at: datetime
) -> dict[str, Any]:
    ahead = waiting_ahead(state, section, service, c.NORMAL_LANE)
    est_s = estimate_wait_s(state, section, service, c.NORMAL_LANE, ahead)
    return {
        "service": service,
        "waiting": line.waiting,
        "longest_wait_s": 0 if line.oldest is None else seconds(at, line.oldest.issued_at),
        "open_counters": line.open_counters,
        "est_wait_min": round(est_s / 60),
        "oldest_ticket": None if line.oldest is None else line.oldest.ticket_no,
    }


def summary(state: QueueState, section: QueueSection, service: str, at: datetime) -> dict[str, Any]:
    """waiting, longest_wait_s, open_counters (and more) of one service at `at`."""
    return _summary(state, section, service, _lines(state, section)[service], at)


def flush_status(out: Outcome, section: QueueSection) -> None:
    """Emit queue.status for each service whose summary changed, at most once per interval.

    A change held back by the interval stays visible as a difference between the state and
    the last sent summary, so the next tick after the interval sends it.
    """
    state = out.state
    due = [
        s.code
        for s in section.services
        if (sent := state.status_sent.get(s.code)) is None
        or (out.at - sent[0]).total_seconds() >= section.status_min_interval_s
    ]
    if not due:
        return
    lines = _lines(state, section)
    for service in due:
        sent = state.status_sent.get(service)
        line = lines[service]
        if sent is None or sent[1] != line.key():
            out.emit(c.QUEUE_STATUS, _summary(state, section, service, line, out.at))
