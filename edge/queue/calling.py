"""Which ticket a counter calls next: transfers to it, then its services, priority, issue time.

The priority share rule, per service: priority tickets (the classes the hall honours) go
before normal ones, but after `priority.max_in_row` priority calls in a row from one
service's queue, the next call from that queue takes its longest-waiting normal ticket if
there is one. Counting is per service and hall-wide (all counters calling from the same
queue share the count) because starvation is a property of a queue, not of a counter.
"""

from __future__ import annotations

from edge.config.queue import CounterConf, PrioritySettings
from edge.queue import catalogue as c
from edge.queue.state import QueueState, Ticket


def lane_of(priority: str, rules: PrioritySettings) -> str:
    """The lane a ticket of this priority class waits in."""
    return c.PRIORITY_LANE if priority in rules.classes else c.NORMAL_LANE


def next_ticket(
    state: QueueState, counter: CounterConf, rules: PrioritySettings
) -> tuple[Ticket, str] | None:
    """The ticket `counter` should call now and the lane it comes from, or None."""
    targeted = [
        t for t in state.tickets.values() if t.waiting and t.target_counter == counter.number
    ]
    if targeted:
        # A customer sent here by another clerk has been served already: no new queueing.
        return min(targeted, key=Ticket.sort_key), c.TRANSFER_LANE
    for service in counter.services:
        picked = _from_service(state, service, rules)
        if picked is not None:
            return picked
    return None


def _from_service(
    state: QueueState, service: str, rules: PrioritySettings
) -> tuple[Ticket, str] | None:
    oldest: dict[str, Ticket] = {}
    for t in state.tickets.values():
        if not t.waiting or t.target_counter is not None or t.service != service:
            continue
        lane = lane_of(t.priority, rules)
        best = oldest.get(lane)
        if best is None or t.sort_key() < best.sort_key():
            oldest[lane] = t
    prio = oldest.get(c.PRIORITY_LANE)
    normal = oldest.get(c.NORMAL_LANE)
    if prio is not None and (normal is None or state.streak.get(service, 0) < rules.max_in_row):
        return prio, c.PRIORITY_LANE
    if normal is not None:
        return normal, c.NORMAL_LANE
    return None
