"""Matching a pad's score to the service it rates, and timing out unanswered requests."""

from __future__ import annotations

from collections.abc import Mapping

from edge.config.queue import QueueSection
from edge.model import JournaledEvent
from edge.queue import catalogue as c
from edge.queue.outcome import Outcome
from edge.queue.state import PendingRating
from edge.queue.values import as_int


def _pending_at(out: Outcome, counter: int | None) -> PendingRating | None:
    found = [r for r in out.state.ratings.values() if r.counter == counter]
    return max(found, key=lambda r: r.deadline) if found else None


def decide_rating(out: Outcome, ev: JournaledEvent, section: QueueSection) -> None:
    """Record which pending request a rating.submitted answers (as rating.received).

    A pad that knows the rating_id (from rating.start) names it; a serial pad that sends a
    bare key is matched by the `counter` it reports or, failing that, by being the rating
    pad of a counter in the config. A score for a request that already timed out, or for
    none, is not attributed: the time-out stands.
    """
    data = ev.data
    rating_id = data.get("rating_id")
    if rating_id:
        pending = out.state.ratings.get(str(rating_id))
    else:
        number = as_int(data.get("counter"))
        if number is None:
            number = next(
                (k.number for k in section.counters if k.rating_pad == ev.device_id), None
            )
        pending = _pending_at(out, number)
    level = as_int(data.get("level"))
    if pending is None or level is None or not 1 <= level <= 5:
        return
    received: dict[str, object] = {
        "rating_id": pending.rating_id,
        "counter": pending.counter,
        "staff_id": pending.staff_id,
        "ticket_no": pending.ticket_no,
        "service": pending.service,
        "level": level,
    }
    dimensions = data.get("dimensions")
    if isinstance(dimensions, Mapping):
        received["dimensions"] = dict(dimensions)
    out.emit(c.RATING_RECEIVED, received)


def expire_ratings(out: Outcome, reason: str = "timeout", everything: bool = False) -> None:
    """rating.timed_out for each request past its deadline (or for all, at the day's end)."""
    due = [r for r in out.state.ratings.values() if everything or r.deadline <= out.at]
    for r in sorted(due, key=lambda r: (r.deadline, r.rating_id)):
        out.emit(
            c.RATING_TIMED_OUT,
            {
                "rating_id": r.rating_id,
                "counter": r.counter,
                "staff_id": r.staff_id,
                "ticket_no": r.ticket_no,
                "service": r.service,
                "reason": reason,
            },
        )
