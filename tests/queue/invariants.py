"""The issue's invariants, checked on a journal of queue events (the cloud's view)."""

from __future__ import annotations

from collections import Counter as Tally
from collections import defaultdict
from datetime import datetime
from typing import Any

from edge.config.queue import QueueSection
from edge.model import JournaledEvent
from edge.queue import catalogue as c

TICK_RESULTS = {
    c.RATING_TIMED_OUT,
    c.QUEUE_STATUS,
    c.TICKET_ABANDONED,
    c.COUNTER_STATE_CHANGED,
    c.DAY_STARTED,
}


def check_journal(events: list[JournaledEvent], section: QueueSection) -> dict[str, Any]:
    """Assert every invariant; return a few counts for the caller's own asserts."""
    by_seq = {e.seq: e for e in events}
    lanes_of = set(section.priority.classes)
    prefs = {k.number: list(k.services) for k in section.counters}
    # ticket -> (service, lane, issued_at, issue seq, target counter or None), while waiting
    waiting: dict[str, tuple[str, str, datetime, int, int | None]] = {}
    held_by: dict[str, int] = {}  # ticket -> counter it is called to
    holding: dict[int, str] = {}  # counter -> ticket
    counter_state: dict[int, str] = defaultdict(lambda: c.CLOSED_STATE)
    streak: dict[str, int] = defaultdict(int)
    ends: Tally[str] = Tally()
    issued: list[str] = []
    numbers: dict[str, list[int]] = defaultdict(list)
    priority_calls = normal_calls = share_forced = 0
    info: dict[str, tuple[str, datetime, int]] = {}  # ticket -> (lane, issued_at, issue seq)
    ratings_open: set[str] = set()
    rating_ends: Tally[str] = Tally()

    for e in events:
        d = e.data
        if e.type in c.RESULT_TYPES:
            assert e.device_id == "hub"
            if e.causation is None:
                assert e.type in TICK_RESULTS, e
                if e.type in (c.TICKET_ABANDONED, c.COUNTER_STATE_CHANGED):
                    assert d.get("day_end") is True, e
            else:
                assert by_seq[e.causation].type in c.INPUT_TYPES, e
        if e.type == c.TICKET_ISSUED:
            t = d["ticket_no"]
            assert t not in waiting and t not in held_by and ends[t] == 0, f"{t} issued twice"
            issued.append(t)
            numbers[d["service"]].append(d["number"])
            lane = c.PRIORITY_LANE if d["priority"] in lanes_of else c.NORMAL_LANE
            info[t] = (lane, datetime.fromisoformat(d["issued_at"]), e.seq)
            waiting[t] = (d["service"], *info[t], None)
        elif e.type == c.COUNTER_STATE_CHANGED:
            counter_state[d["counter"]] = d["state"]
        elif e.type == c.TICKET_CALLED:
            t, k = d["ticket_no"], d["counter"]
            assert counter_state[k] == c.OPEN_STATE, f"{k} called {t} while {counter_state[k]}"
            if d["call_no"] == 1:
                assert t in waiting, f"{t} called but not waiting"
                assert t not in held_by, f"{t} called at {k} while at {held_by.get(t)}"
                assert k not in holding, f"counter {k} called {t} while holding {holding.get(k)}"
                service, lane, issued_at, order, target = waiting[t]
                key = (issued_at, order)
                targeted = [(w[2], w[3]) for w in waiting.values() if w[4] == k]
                if d["lane"] == c.TRANSFER_LANE:
                    assert target == k and key == min(targeted), f"{t} out of transfer order"
                else:
                    assert target is None and not targeted, f"{t} called before a transfer to {k}"
                    assert d["lane"] == lane, f"{t} called from lane {d['lane']}, waits in {lane}"
                    same = [
                        (w[2], w[3])
                        for w in waiting.values()
                        if w[0] == service and w[1] == lane and w[4] is None
                    ]
                    assert key == min(same), f"{t} called before an older ticket of its lane"
                    before = prefs[k][: prefs[k].index(service)]
                    assert not any(w[0] in before and w[4] is None for w in waiting.values()), (
                        f"counter {k} skipped a preferred service calling {t}"
                    )
                    normals = any(
                        w[0] == service and w[1] == c.NORMAL_LANE and w[4] is None
                        for w in waiting.values()
                    )
                    if lane == c.PRIORITY_LANE:
                        priority_calls += 1
                        assert not normals or streak[service] < section.priority.max_in_row, (
                            f"priority share broken calling {t}"
                        )
                        streak[service] += 1
                    else:
                        normal_calls += 1
                        if streak[service] >= section.priority.max_in_row:
                            share_forced += 1
                        streak[service] = 0
                del waiting[t]
                held_by[t] = k
                holding[k] = t
            else:
                assert held_by.get(t) == k, f"recall of {t} at {k} which does not hold it"
        elif e.type == c.TICKET_TRANSFERRED:
            t = d["ticket_no"]
            if t in held_by:
                holding.pop(held_by.pop(t))
            else:
                waiting.pop(t)
            # The original issue time and lane stay with the ticket.
            waiting[t] = (d["service"], *info[t], d["to_counter"])
        elif e.type in (c.TICKET_COMPLETED, c.TICKET_ABANDONED):
            t = d["ticket_no"]
            ends[t] += 1
            if t in held_by:
                holding.pop(held_by.pop(t))
            else:
                assert e.type == c.TICKET_ABANDONED and d.get("day_end"), f"{t} ended unheld"
                waiting.pop(t)
        elif e.type == c.RATING_REQUESTED:
            ratings_open.add(d["rating_id"])
        elif e.type in (c.RATING_RECEIVED, c.RATING_TIMED_OUT):
            assert d["rating_id"] in ratings_open, f"{e.type} for unknown {d['rating_id']}"
            ratings_open.discard(d["rating_id"])
            rating_ends[d["rating_id"]] += 1

    assert not waiting and not held_by, f"tickets never ended: {sorted(waiting) + sorted(held_by)}"
    for t in issued:
        assert ends[t] == 1, f"{t} ended {ends[t]} times"
    for service, nos in numbers.items():
        assert nos == list(range(1, len(nos) + 1)), f"{service} numbers not consecutive"
    assert all(n == 1 for n in rating_ends.values()) and not ratings_open
    return {
        "issued": len(issued),
        "priority_calls": priority_calls,
        "normal_calls": normal_calls,
        "share_forced": share_forced,
        "ratings": len(rating_ends),
    }
