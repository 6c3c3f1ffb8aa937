"""Wait estimates: how many are ahead of a new ticket, and how long that takes.

Model. A service takes the mean S of its last `estimate_window` service times (its norm
until one is timed). Its capacity c is the sum over open counters serving it of the share
of each counter's recent first calls that went to it, smoothed towards a prior of
1/(1 + rank) (1 for a counter's first service, 1/2 for its second...) with the weight of
3 calls. With n tickets ahead and every counter busy, a counter frees up after about
S/(c+1) and then one every S/c: the wait is S/(c+1) + n*S/c (0 when an open counter is
idle and nobody is ahead).

Left out on purpose: priority tickets that will arrive later and go first, minutes lost
to no-shows, clerks' gaps. A feedback correction (scaling by recent real/estimated waits)
was tried on the simulated days of tests/queue and made the error worse (it lags), so the
estimate stays this plain model; docs/queue.md gives the error it meets.
"""

from __future__ import annotations

from edge.config.queue import CounterConf, QueueSection
from edge.queue import catalogue as c
from edge.queue.calling import lane_of
from edge.queue.state import QueueState

_PRIOR_CALLS = 3.0


def waiting_ahead(state: QueueState, section: QueueSection, service: str, lane: str) -> int:
    """Tickets of `service` that a new ticket in `lane` waits behind (transfers excluded)."""
    n = 0
    for t in state.tickets.values():
        if not t.waiting or t.target_counter is not None or t.service != service:
            continue
        # A priority ticket waits only behind other priority tickets.
        if lane == c.NORMAL_LANE or lane_of(t.priority, section.priority) == c.PRIORITY_LANE:
            n += 1
    return n


def mean_service_s(state: QueueState, section: QueueSection, service: str) -> float:
    """Mean of the recent service times of `service`, or its norm."""
    times = state.service_times.get(service)
    if times:
        return sum(times) / len(times)
    conf = section.service(service)
    return 60.0 * (conf.norm_min if conf is not None else 10.0)


def _share(state: QueueState, counter: CounterConf, service: str) -> float:
    recent = state.counter(counter.number).recent_services
    prior = 1.0 / (1 + counter.services.index(service))
    return (recent.count(service) + _PRIOR_CALLS * prior) / (len(recent) + _PRIOR_CALLS)


def capacity(state: QueueState, section: QueueSection, service: str) -> tuple[float, bool]:
    """Counters' worth of capacity for `service`, and whether one of them is idle now.

    With no counter open yet (before opening, or all paused), the configured counters are
    counted as if open: the estimate is for when they are.
    """
    serving = [k for k in section.counters if service in k.services]
    open_ = [k for k in serving if state.counter(k.number).state == c.OPEN_STATE]
    idle = any(state.counter(k.number).current is None for k in open_)
    if not open_:
        return sum(_share(state, k, service) for k in serving), False
    return sum(_share(state, k, service) for k in open_), idle


def _model_wait_s(state: QueueState, section: QueueSection, service: str, ahead: int) -> float:
    cap, idle = capacity(state, section, service)
    if idle and ahead == 0:
        return 0.0
    cap = max(cap, 0.1)  # a counter that lately served only other services still helps
    s = mean_service_s(state, section, service)
    return s / (cap + 1.0) + ahead * s / cap


def estimate_wait_s(
    state: QueueState, section: QueueSection, service: str, lane: str, ahead: int
) -> int:
    """Expected whole seconds until a ticket with `ahead` tickets before it is called.

    `lane` does not change the model (a priority ticket simply has fewer ahead); it is
    part of the signature so that lane-specific corrections need no caller changes.
    """
    return round(_model_wait_s(state, section, service, ahead))
