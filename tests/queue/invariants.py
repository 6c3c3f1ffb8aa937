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


def _check_cause(e: JournaledEvent, by_seq: dict[int, JournaledEvent]) -> None:
    """A result is the hub's, caused by an input, or a tick's (a day's end says so)."""
    assert e.device_id == "hub"
    if e.causation is None:
        assert e.type in TICK_RESULTS, e
        if e.type in (c.TICKET_ABANDONED, c.COUNTER_STATE_CHANGED):
            assert e.data.get("day_end") is True, e
    else:
        assert by_seq[e.causation].type in c.INPUT_TYPES, e


def _count_call(
    t: str, lane: str, normals: bool, streak: int, section: QueueSection, calls: Tally[str]
) -> int:
    """Count a first call of `t` from `lane`; its service's new streak of priority calls.

    `normals`: normal tickets of the service were waiting (the share rule applies)."""
    max_in_row = section.priority.max_in_row
    if lane == c.PRIORITY_LANE:
        calls["priority"] += 1
        assert not normals or streak < max_in_row, f"priority share broken calling {t}"
        return streak + 1
    calls["normal"] += 1
    if streak >= max_in_row:
        calls["share_forced"] += 1
    return 0


def _release(
    t: str,
    waiting: dict[str, Any],
    held_by: dict[str, int],
    holding: dict[int, str],
) -> None:
    """Take `t` off the counter holding it, else out of the waiting tickets."""
    if t in held_by:
        holding.pop(held_by.pop(t))
    else:
        waiting.pop(t)


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
    calls: Tally[str] = Tally()  # "priority", "normal" and "share_forced" calls
    info: dict[str, tuple[str, datetime, int]] = {}  # ticket -> (lane, issued_at, issue seq)
    ratings_open: set[str] = set()
    rating_ends: Tally[str] = Tally()

    for e in events:
        d = e.data
        if e.type in c.RESULT_TYPES:
            _check_cause(e, by_seq)
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
                    streak[service] = _count_call(t, lane, normals, streak[service], section, calls)
                del waiting[t]
                held_by[t] = k
                holding[k] = t
            else:
                assert held_by.get(t) == k, f"recall of {t} at {k} which does not hold it"
        elif e.type == c.TICKET_TRANSFERRED:
            t = d["ticket_no"]
            _release(t, waiting, held_by, holding)
            # The original issue time and lane stay with the ticket.
            waiting[t] = (d["service"], *info[t], d["to_counter"])
        elif e.type in (c.TICKET_COMPLETED, c.TICKET_ABANDONED):
            t = d["ticket_no"]
            ends[t] += 1
            unheld_ok = e.type == c.TICKET_ABANDONED and d.get("day_end")
            assert t in held_by or unheld_ok, f"{t} ended unheld"
            _release(t, waiting, held_by, holding)
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
        "priority_calls": calls["priority"],
        "normal_calls": calls["normal"],
        "share_forced": calls["share_forced"],
        "ratings": len(rating_ends),
    }
