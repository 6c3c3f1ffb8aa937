"""A simulated hall day: customers, clerks at 6 counters, rating pads, hub restarts.

Discrete-event simulation on a heap of timed actions; the Hall (tests/queue/hall.py)
plays the hub. Clerks learn what was called from their caller's digits, as in a hall;
customers who do not come force recalls and no-shows; some presses and ticket requests
are delivered twice; the hub restarts three times during the day and once "crashes" with
an input journaled but not answered.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from edge.config.queue import PRIORITY_CLASSES, QueueSection
from edge.model import Command, Event, Output
from edge.queue import catalogue as c
from edge.queue import command_to_event
from tests.queue.hall import Hall, at

DAY = "2026-11-27"  # a Friday
# service -> (tickets per hour, mean service minutes)
DEMAND = {
    "payment": (22.0, 3.6),
    "new_install": (2.6, 14.0),
    "capacity_change": (1.8, 17.0),
    "invoice": (7.0, 4.5),
    "consultation": (6.0, 7.0),
}
PRIORITY_SHARE = 0.22
RESTARTS = ("10:00:00", "12:30:00", "15:00:00")
CRASH = "14:00:00"


@dataclass
class Customer:
    request_id: str
    service: str
    priority: str
    arrives: datetime
    shows: bool
    via_cloud: bool
    ticket_no: str = ""
    est_wait_min: int = 0
    called_at: datetime | None = None


@dataclass
class Clerk:
    counter: int
    staff: str
    opens: datetime
    pause: tuple[datetime, datetime] | None
    ticket: str | None = None
    paused_once: bool = False
    closed: bool = False
    presses: int = 0


@dataclass
class DayResult:
    hall: Hall
    customers: list[Customer]
    restarts_equal: int = 0
    crash_outputs: list[Output] = field(default_factory=list)
    duplicates: int = 0
    repeated_requests: int = 0
    cloud_requests: int = 0
    resent_after_restart: int = 0


class SimulatedDay:
    def __init__(self, path: Path, section: QueueSection, seed: int) -> None:
        self.rng = random.Random(seed)
        self.section = section
        self.hall = Hall(path, section)
        self.heap: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.order = itertools.count()
        self.customers: dict[str, Customer] = {}  # request_id -> customer
        self.by_ticket: dict[str, Customer] = {}
        self.result = DayResult(self.hall, [])
        self.clerks = {
            k.number: Clerk(
                counter=k.number,
                staff=f"S{k.number:02d}",
                opens=at(DAY, "08:30:00") + timedelta(seconds=self.rng.uniform(0, 120)),
                pause=None,
            )
            for k in section.counters
        }
        self.clerks[6].opens = at(DAY, "09:15:00")  # a late counter
        self.clerks[2].pause = (at(DAY, "12:00:00"), at(DAY, "13:00:00"))
        self.clerks[3].pause = (at(DAY, "10:40:00"), at(DAY, "10:55:00"))

    # -- scheduling ----------------------------------------------------------------------
    def later(self, when: datetime, action: Callable[[datetime], None]) -> None:
        heapq.heappush(self.heap, (when, next(self.order), action))

    def run(self) -> DayResult:
        self._plan_customers()
        for clerk in self.clerks.values():
            self.later(clerk.opens, partial(self._open, clerk))
        for hhmmss in RESTARTS:
            self.later(at(DAY, hhmmss), self._restart)
        t = at(DAY, "08:00:00")
        end = at(DAY, "19:00:00")
        while t < end:
            while self.heap and self.heap[0][0] <= t:
                when, _, action = heapq.heappop(self.heap)
                action(when)
            self.hall.tick(t)
            t += timedelta(seconds=2)
        # Nothing must be left but the day's end.
        assert not self.heap, "simulation still had work at 19:00"
        self.hall.tick(at("2026-11-28", "00:00:01"))
        self.result.customers = list(self.customers.values())
        return self.result

    # -- customers -----------------------------------------------------------------------
    def _plan_customers(self) -> None:
        start, stop = at(DAY, "08:30:00"), at(DAY, "16:40:00")
        n = 0
        for service, (per_hour, _) in DEMAND.items():
            t = start
            while True:
                rush = 1.6 if at(DAY, "09:00:00") <= t < at(DAY, "10:30:00") else 1.0
                t += timedelta(seconds=self.rng.expovariate(per_hour * rush / 3600.0))
                if t >= stop:
                    break
                n += 1
                prio = (
                    self.rng.choice(PRIORITY_CLASSES)
                    if self.rng.random() < PRIORITY_SHARE
                    else "normal"
                )
                customer = Customer(
                    request_id=f"req-{n:04d}",
                    service=service,
                    priority=prio,
                    arrives=t,
                    shows=self.rng.random() < 0.93,
                    via_cloud=self.rng.random() < 0.1,
                )
                self.customers[customer.request_id] = customer
                self.later(t, partial(self._request, customer))
        self.later(at(DAY, CRASH), self._crash)

    def _request(self, cu: Customer, t: datetime, *, crash: bool = False) -> None:
        if cu.via_cloud:
            cmd = Command(
                "hub",
                c.ISSUE_COMMAND,
                {"service": cu.service, "priority": cu.priority, "request_id": cu.request_id},
                cmd_id=cu.request_id,
            )
            ev = command_to_event(cmd, self.section)
            self.result.cloud_requests += 1
            type_, device, data = ev.type, ev.device_id, dict(ev.data)
        else:
            type_, device = c.TICKET_REQUESTED, "kiosk-1"
            data = {
                "request_id": cu.request_id,
                "service": cu.service,
                "priority": cu.priority,
                "channel": "kiosk",
            }
        # Device clocks carry microseconds; the queue keeps milliseconds.
        t = t + timedelta(microseconds=self.rng.randrange(1000))
        if crash:
            self._crash_with(type_, device, data, t)
            return
        outs = self.hall.send(type_, device, data, t)
        self._learn_ticket(outs)
        if cu.ticket_no and not cu.via_cloud and self.rng.random() < 0.03:
            # The kiosk did not hear back in time and asks again with the same request_id.
            again = self.hall.send(type_, device, data, t + timedelta(seconds=2))
            assert not [o for o in again if isinstance(o, Event) and o.type == c.TICKET_ISSUED]
            prints = [o for o in again if isinstance(o, Command) and o.name == c.TICKET_PRINT]
            assert prints and prints[0].args["ticket_no"] == cu.ticket_no
            self.result.repeated_requests += 1

    def _learn_ticket(self, outs: list[Output]) -> None:
        for o in outs:
            if isinstance(o, Event) and o.type == c.TICKET_ISSUED:
                cu = self.customers[o.data["request_id"]]
                cu.ticket_no = o.data["ticket_no"]
                cu.est_wait_min = o.data["est_wait_min"]
                self.by_ticket[cu.ticket_no] = cu

    # -- hub restarts --------------------------------------------------------------------
    def _restart(self, t: datetime) -> None:
        before = self.hall.manager.snapshot()
        outs = self.hall.restart(t)
        # An input answered by commands alone (a "----" on the caller) leaves no trace in the
        # journal, so a rebuild decides it again: same harmless commands, never an event.
        assert all(isinstance(o, Command) for o in outs), outs
        self.result.resent_after_restart += len(outs)
        assert self.hall.manager.snapshot() == before
        self.result.restarts_equal += 1

    def _crash(self, t: datetime) -> None:
        # The next customer's request is journaled, then the hub dies before answering.
        cu = min(
            (cu for cu in self.customers.values() if cu.arrives > t and not cu.via_cloud),
            key=lambda cu: cu.arrives,
        )
        # Its normal request is replaced by the one that crashes the hub.
        self.heap = [h for h in self.heap if not _is_request_of(h[2], cu)]
        heapq.heapify(self.heap)
        self.later(cu.arrives, partial(self._request, cu, crash=True))

    def _crash_with(self, type_: str, device: str, data: dict[str, Any], t: datetime) -> None:
        live = copy.deepcopy(self.hall.manager)
        self.hall.journal_only(type_, device, data, t)
        journaled = self.hall.journal.events()[-1]
        expected = live.handle(journaled)
        outs = self.hall.restart(t + timedelta(seconds=30))
        # The same events as the live hub would have made; the commands too, after the
        # "----" of idle presses that were answered by commands alone (decided again).
        assert _shape(_events(outs)) == _shape(_events(expected))
        extra = _shape(outs)[: len(outs) - len(expected)]
        assert _shape(outs)[len(extra) :] == _shape(expected)
        assert all(x[1:] == (c.SHOW_DIGITS, {"text": c.NOTHING_WAITING_TEXT}) for x in extra)
        assert self.hall.manager.snapshot() == live.snapshot()
        self.result.crash_outputs = outs
        self._learn_ticket(outs)

    # -- clerks --------------------------------------------------------------------------
    def _press(self, clerk: Clerk, t: datetime, action: str, **extra: Any) -> list[Output]:
        clerk.presses += 1
        data = {
            "counter": clerk.counter,
            "action": action,
            "staff_id": clerk.staff,
            "press_id": f"{clerk.counter}-{clerk.presses}",
            **extra,
        }
        caller = f"caller-{clerk.counter}"
        outs = self.hall.send(c.COUNTER_ACTION, caller, data, t)
        if any(isinstance(o, Event) for o in outs) and self.rng.random() < 0.08:
            # The same key press delivered again (a retransmitted frame, a duplicated message):
            # nothing but a held-back queue.status, or a "----" again, may come of it.
            again = self.hall.send(c.COUNTER_ACTION, caller, data, t + timedelta(milliseconds=400))
            for o in again:
                if isinstance(o, Event):
                    assert o.type == c.QUEUE_STATUS, again
                else:
                    assert o.args == {"text": c.NOTHING_WAITING_TEXT}, again
            self.result.duplicates += 1
        self._rate_if_asked(clerk, outs, t)
        return outs

    def _digits(self, clerk: Clerk, outs: list[Output]) -> str | None:
        shown = [
            o.args["text"]
            for o in outs
            if isinstance(o, Command)
            and o.name == c.SHOW_DIGITS
            and o.device_id == f"caller-{clerk.counter}"
        ]
        return shown[-1] if shown else None

    def _open(self, clerk: Clerk, t: datetime) -> None:
        self._press(clerk, t, c.OPEN)
        self._next(clerk, t + timedelta(seconds=3))

    def _next(self, clerk: Clerk, t: datetime) -> None:
        if clerk.pause and not clerk.paused_once and t >= clerk.pause[0]:
            clerk.paused_once = True
            if clerk.ticket is not None:
                self._press(clerk, t, c.FINISH)
                clerk.ticket = None
            self._press(clerk, t, c.PAUSE)
            back = clerk.pause[1]
            # One clerk presses pause again (serial callers toggle), the other resume.
            key = c.PAUSE if clerk.counter == 2 else c.RESUME
            self.later(back, partial(self._back, clerk, key))
            return
        outs = self._press(clerk, t, c.CALL_NEXT)
        clerk.ticket = None
        shown = self._digits(clerk, outs)
        if shown is None or shown == c.NOTHING_WAITING_TEXT:
            if t >= at(DAY, "17:00:00"):
                self._press(clerk, t, c.CLOSE)
                clerk.closed = True
                return
            self.later(t + timedelta(seconds=20), partial(self._next, clerk))
            return
        self._called(clerk, shown, t, call_no=1)

    def _back(self, clerk: Clerk, key: str, t: datetime) -> None:
        self._press(clerk, t, key)
        self._next(clerk, t)

    def _called(self, clerk: Clerk, ticket: str, t: datetime, call_no: int) -> None:
        clerk.ticket = ticket
        cu = self.by_ticket[ticket]
        if cu.called_at is None:
            cu.called_at = t
        if cu.shows:
            walk = self.rng.uniform(10, 60)
            mean = DEMAND[cu.service][1] * 60.0
            length = self.rng.lognormvariate(math.log(mean) - 0.08, 0.4)
            self.later(t + timedelta(seconds=walk + length), partial(self._done, clerk))
        else:
            self.later(t + timedelta(seconds=40), partial(self._recall, clerk, call_no))

    def _recall(self, clerk: Clerk, call_no: int, t: datetime) -> None:
        if call_no > self.section.recalls and self.rng.random() < 0.5:
            self._press(clerk, t, c.NO_SHOW)
            clerk.ticket = None
            self._next(clerk, t + timedelta(seconds=5))
            return
        outs = self._press(clerk, t, c.RECALL)
        if any(isinstance(o, Event) and o.type == c.TICKET_ABANDONED for o in outs):
            clerk.ticket = None
            self._next(clerk, t + timedelta(seconds=5))
            return
        assert self._digits(clerk, outs) == clerk.ticket
        self.later(t + timedelta(seconds=40), partial(self._recall, clerk, call_no + 1))

    def _done(self, clerk: Clerk, t: datetime) -> None:
        r = self.rng.random()
        if r < 0.05:
            self._transfer(clerk, t)
            self._next(clerk, t + timedelta(seconds=5))
        elif r < 0.35:
            self._next(clerk, t)  # call_next finishes the ticket being served
        else:
            self._press(clerk, t, c.FINISH)
            clerk.ticket = None
            self.later(t + timedelta(seconds=self.rng.uniform(5, 30)), partial(self._next, clerk))

    def _transfer(self, clerk: Clerk, t: datetime) -> None:
        # After an application the customer is sent on to pay or to get an invoice: to the
        # follow-up service's queue, or to a counter of the hall that serves it.
        assert clerk.ticket is not None
        cu = self.by_ticket[clerk.ticket]
        follow_up = self.rng.choice(("payment", "invoice", "consultation"))
        if self.rng.random() < 0.5:
            targets = [
                k.number
                for k in self.section.counters
                if k.services[0] == follow_up and k.number != clerk.counter
            ]
            target = self.rng.choice(targets or [n for n in self.clerks if n != clerk.counter])
            self._press(clerk, t, c.TRANSFER, to_counter=target)
        else:
            self._press(clerk, t, c.TRANSFER, to_service=follow_up)
        cu.service = follow_up
        clerk.ticket = None

    def _rate_if_asked(self, clerk: Clerk, outs: list[Output], t: datetime) -> None:
        for o in outs:
            if isinstance(o, Command) and o.name == c.RATING_START and self.rng.random() < 0.8:
                delay = self.rng.uniform(2, 40)  # some are too late: the time-out stands
                rid = o.args["rating_id"]
                pad = o.device_id
                level = self.rng.choice((5, 5, 5, 4, 4, 3, 2, 1))
                # Counters 1-3 have MQTT pads that echo the rating_id, 4-6 bare serial keys.
                data: dict[str, Any] = {"level": level}
                if clerk.counter <= 3:
                    data["rating_id"] = rid
                self.later(t + timedelta(seconds=delay), partial(self._rate, pad, data))

    def _rate(self, pad: str, data: dict[str, Any], t: datetime) -> None:
        self.hall.send(c.RATING_SUBMITTED, pad, data, t)


def _is_request_of(action: Callable[[datetime], None], cu: Customer) -> bool:
    return isinstance(action, partial) and any(a is cu for a in action.args)


def _events(outs: list[Output]) -> list[Output]:
    return [o for o in outs if isinstance(o, Event)]


def _shape(outs: list[Output]) -> list[Any]:
    shaped: list[Any] = []
    for o in outs:
        if isinstance(o, Event):
            shaped.append((o.type, dict(o.data), o.causation))
        else:
            shaped.append((o.device_id, o.name, dict(o.args)))
    return shaped
