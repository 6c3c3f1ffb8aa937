"""A generated hall month: the truth of what happened, and the journal it would leave.

The truth (tickets, ratings, payments, feedback) is what the tests compute the expected
figures from, with plain loops; the events are what the KPI code gets, with the noise of
real delivery: duplicates under the same envelope id, re-sends under a new id, events
that reach the journal days late, mixed time zones, ratings without staff or ticket.

Used by the KPI tests (tests/kpi) and by bench/kpi.py for the busy-hall month.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edge.model import JournaledEvent
from edge.sim.month_truth import FeedbackTruth, HallMonth, PaymentTruth, TicketTruth

SHANGHAI = ZoneInfo("Asia/Shanghai")

# service code -> (ticket prefix, share of tickets, typical service minutes)
SERVICES: dict[str, tuple[str, float, float]] = {
    "payment": ("A", 0.40, 3.5),
    "new_install": ("B", 0.12, 16.0),
    "capacity_change": ("C", 0.08, 18.0),
    "name_transfer": ("D", 0.08, 15.0),
    "invoice": ("E", 0.12, 4.0),
    "consultation": ("F", 0.20, 8.0),
}
KIOSK_CHANNELS = ("wechat", "alipay", "unionpay", "card", "cash")
KIOSK_WEIGHTS = (0.40, 0.30, 0.10, 0.12, 0.08)


class _Journal:
    """Collects raw events; `finish` orders them by arrival and numbers them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.raw: list[tuple[datetime, int, str, str, datetime, dict[str, Any], str | None]] = []
        self.n = 0

    def add(
        self,
        kind: str,
        at: datetime,
        data: dict[str, Any],
        device: str = "dev",
        arrive: datetime | None = None,
        same_id_as: str | None = None,
    ) -> str:
        self.n += 1
        eid = same_id_as or f"E{self.n:09d}"
        # Some devices stamp UTC, some local time: the figures must not care.
        stamp = at.astimezone(UTC) if self.n % 3 == 0 else at
        self.raw.append((arrive or at, self.n, eid, kind, stamp, data, device))
        return eid

    def finish(self) -> list[JournaledEvent]:
        self.raw.sort(key=lambda r: (r[0], r[1]))
        return [
            JournaledEvent(seq=i, id=eid, type=kind, device_id=dev or "dev", time=t, data=data)
            for i, (_arr, _n, eid, kind, t, data, dev) in enumerate(self.raw, start=1)
        ]


def _pick_service(rng: random.Random) -> str:
    names = list(SERVICES)
    return rng.choices(names, weights=[SERVICES[n][1] for n in names])[0]


@dataclass(frozen=True)
class _MonthGen:
    """The month being generated, and what each of its days is generated with."""

    hm: HallMonth
    j: _Journal
    rng: random.Random
    tickets_per_day: int
    rating_share: float
    noise: bool


def build_month(
    seed: int = 7,
    month: str = "2026-11",
    counters: int = 8,
    tickets_per_day: int = 80,
    tz: ZoneInfo = SHANGHAI,
    rating_share: float = 0.75,
    noise: bool = True,
) -> HallMonth:
    """A whole hall month: tickets, calls, ratings, payments, feedback, and their events.

    With noise, the month also holds: duplicates (same id and re-sent with a new id), late
    events, a counter closed from the 16th, a ticket completed after midnight, one issued
    on the month's last evening and completed in the next month, ratings submitted after
    their time-out, and ratings without staff id or ticket number.
    """
    # Every random draw comes from this one generator, in a fixed order: a seed is a month.
    rng = random.Random(seed)
    first, days = _days_of(month)
    names = [str(i + 1) for i in range(counters)]
    hm = HallMonth(month=month, first=first, days=days, counters=names)
    if noise and counters > 1:
        hm.closed_counter = names[-1]
        hm.closed_from = first + timedelta(days=15)
    g = _MonthGen(hm, _Journal(rng), rng, tickets_per_day, rating_share, noise)
    staff_of = {c: f"S{int(c):02d}" for c in names}
    for day in days:
        if day.weekday() == 6 and day.day > 20 and noise:
            continue  # a closed Sunday: nothing at all that day
        _hall_day(g, day, tz, staff_of)
    if noise:
        _special_tickets(hm, g.j, rng, tz, today_staff=staff_of)
    hm.events = g.j.finish()
    return hm


def _days_of(month: str) -> tuple[date, list[date]]:
    """The first day of `month` ("YYYY-MM") and all of its days."""
    year, mon = (int(x) for x in month.split("-"))
    first = date(year, mon, 1)
    nxt = date(year + 1, 1, 1) if mon == 12 else date(year, mon + 1, 1)
    return first, [first + timedelta(days=i) for i in range((nxt - first).days)]


def _hall_day(g: _MonthGen, day: date, tz: ZoneInfo, staff_of: dict[str, str]) -> None:
    open_at = datetime.combine(day, time(8, 30), tzinfo=tz)
    close_at = datetime.combine(day, time(18, 0), tzinfo=tz)
    staff_today = _open_counters(g, day, open_at, close_at, staff_of)
    _day_tickets(g, day, open_at, close_at, staff_today)
    _kiosk_payments(g, day, open_at)
    _day_feedback(g, day, open_at)


def _open_counters(
    g: _MonthGen, day: date, open_at: datetime, close_at: datetime, staff_of: dict[str, str]
) -> dict[str, str]:
    """Opens and closes the day's counters; returns who staffs each open one."""
    hm = g.hm
    staff_today: dict[str, str] = {}
    for c in hm.counters:
        if hm.closed_from is not None and c == hm.closed_counter and day >= hm.closed_from:
            continue
        # A substitute clerk now and then: staff and counters are not one to one.
        staff_today[c] = f"S{90 + int(c):02d}" if g.rng.random() < 0.1 else staff_of[c]
        for at, state in ((open_at, "open"), (close_at, "closed")):
            g.j.add(
                "counter.state_changed",
                at,
                {"counter": c, "state": state, "staff_id": staff_today[c]},
            )
    return staff_today


def _day_tickets(
    g: _MonthGen, day: date, open_at: datetime, close_at: datetime, staff_today: dict[str, str]
) -> None:
    rng = g.rng
    open_counters = list(staff_today)
    per_prefix: dict[str, int] = {}
    n_tickets = int(g.tickets_per_day * rng.uniform(0.7, 1.3))
    starts = sorted(
        rng.uniform(0, (close_at - open_at).total_seconds() - 3600) for _ in range(n_tickets)
    )
    for offset in starts:
        service = _pick_service(rng)
        prefix = SERVICES[service][0]
        per_prefix[prefix] = per_prefix.get(prefix, 0) + 1
        ticket_no = f"{prefix}{per_prefix[prefix]:03d}"
        issued_at = open_at + timedelta(seconds=round(offset, 3))
        _ticket(
            g.hm,
            g.j,
            rng,
            day,
            ticket_no,
            service,
            issued_at,
            open_counters,
            staff_today,
            g.rating_share,
        )


def _kiosk_payments(g: _MonthGen, day: date, open_at: datetime) -> None:
    rng, noise = g.rng, g.noise
    for _ in range(int(g.tickets_per_day * 0.5 * rng.uniform(0.6, 1.4))):
        at = open_at + timedelta(seconds=rng.uniform(0, 9 * 3600))
        channel = rng.choices(KIOSK_CHANNELS, weights=KIOSK_WEIGHTS)[0]
        result = "ok" if rng.random() > 0.04 else "failed"
        g.hm.payments.append(PaymentTruth(day, channel, result))
        late = at + timedelta(days=2) if noise and rng.random() < 0.05 else None
        eid = g.j.add(
            "kiosk.payment",
            at,
            {
                "amount_cents": rng.randint(1000, 90000),
                "channel": channel,
                "result": result,
                "account": "62****1234",
            },
            device="kiosk1",
            arrive=late,
        )
        if noise and rng.random() < 0.03:  # the same envelope delivered twice
            g.j.add(
                "kiosk.payment",
                at,
                {"channel": channel, "result": result},
                arrive=at + timedelta(hours=1),
                same_id_as=eid,
            )


def _day_feedback(g: _MonthGen, day: date, open_at: datetime) -> None:
    rng = g.rng
    for _ in range(rng.randint(0, 4)):
        at = open_at + timedelta(seconds=rng.uniform(0, 9 * 3600))
        category = rng.choices(["complaint", "suggestion", "praise"], weights=[0.3, 0.3, 0.4])[0]
        closed_at = None
        if category == "complaint" and rng.random() < 0.6:
            closed_at = at + timedelta(hours=rng.uniform(0.5, 100))
        fid = f"FB{len(g.hm.feedback) + 1:05d}"  # numbered through the month
        g.hm.feedback.append(FeedbackTruth(fid, day, category, at, closed_at))
        data = {"feedback_id": fid, "category": category, "text": "…", "contact": "138****0000"}
        g.j.add("feedback.submitted", at, data, device="fb1")
        if g.noise and rng.random() < 0.1:  # re-sent under a new envelope id
            g.j.add(
                "feedback.submitted",
                at,
                dict(data),
                device="fb1",
                arrive=at + timedelta(minutes=5),
            )
        if closed_at is not None:
            g.j.add("feedback.closed", closed_at, {"feedback_id": fid}, device="cloud")


def _ticket(
    hm: HallMonth,
    j: _Journal,
    rng: random.Random,
    day: date,
    ticket_no: str,
    service: str,
    issued_at: datetime,
    open_counters: list[str],
    staff_today: dict[str, str],
    rating_share: float,
    outcome: str | None = None,
    wait_s: int | None = None,
    service_s: int | None = None,
    counter: str | None = None,
) -> None:
    """One ticket's life, from issued to rated (or left, or not shown up).

    `outcome`, `wait_s`, `service_s` and `counter`, when given, are used instead of drawn.
    """
    _issue(j, rng, ticket_no, service, issued_at)
    roll = rng.random()  # drawn even when `outcome` is given: the draws stay in step
    outcome = outcome or ("left" if roll < 0.03 else "no_show" if roll < 0.07 else "completed")
    wait = wait_s if wait_s is not None else int(rng.expovariate(1 / 420)) + 15
    t = TicketTruth(day, ticket_no, service, issued_at, outcome, wait)
    hm.tickets.append(t)
    if t.outcome == "left":
        _abandoned(j, t, issued_at + timedelta(seconds=t.wait_s), "left")
        return
    t.counter = counter or rng.choice(open_counters)
    t.staff = staff_today.get(t.counter, f"S{int(t.counter):02d}")
    called_at = issued_at + timedelta(seconds=t.wait_s)
    if t.outcome == "no_show":
        first_call = called_at - timedelta(seconds=90)
        for n, at in enumerate((first_call, called_at - timedelta(seconds=30)), start=1):
            _called(j, t, at, n)
        _abandoned(j, t, called_at, "no_show")
        return
    done_at = _serve(j, rng, t, called_at, service_s)
    if rng.random() > rating_share:
        return
    _rate(j, rng, t, done_at)


def _issue(
    j: _Journal, rng: random.Random, ticket_no: str, service: str, issued_at: datetime
) -> None:
    channel = rng.choice(["kiosk", "wechat", "appointment", "robot"])
    priority = "elderly" if rng.random() < 0.08 else "normal"
    j.add(
        "queue.ticket.issued",
        issued_at,
        {
            "ticket_no": ticket_no,
            "service": service,
            "channel": channel,
            "priority": priority,
            "waiting_ahead": 3,
        },
    )


def _abandoned(j: _Journal, t: TicketTruth, at: datetime, reason: str) -> None:
    j.add(
        "queue.ticket.abandoned",
        at,
        {"ticket_no": t.ticket_no, "reason": reason, "wait_s": t.wait_s},
    )


def _called(j: _Journal, t: TicketTruth, at: datetime, call_no: int) -> None:
    j.add(
        "queue.ticket.called",
        at,
        {"ticket_no": t.ticket_no, "counter": t.counter, "staff_id": t.staff, "call_no": call_no},
    )


def _serve(
    j: _Journal, rng: random.Random, t: TicketTruth, called_at: datetime, service_s: int | None
) -> datetime:
    """Calls the ticket and completes it; returns when it was done."""
    mean = SERVICES[t.service][2] * 60
    t.service_s = service_s if service_s is not None else max(30, int(rng.gauss(mean, mean * 0.45)))
    _called(j, t, called_at, 1)
    done_at = called_at + timedelta(seconds=t.service_s)
    done = {
        "ticket_no": t.ticket_no,
        "counter": t.counter,
        "staff_id": t.staff,
        "service": t.service,
        "wait_s": t.wait_s,
        "service_s": t.service_s,
    }
    j.add("queue.ticket.completed", done_at, done, device="hub")
    if rng.random() < 0.02:  # re-sent under a new envelope id
        j.add(
            "queue.ticket.completed",
            done_at,
            dict(done),
            device="hub",
            arrive=done_at + timedelta(minutes=3),
        )
    return done_at


def _rate(j: _Journal, rng: random.Random, t: TicketTruth, done_at: datetime) -> None:
    """Asks for a rating when the ticket is done: it times out, or the customer rates."""
    t.rating_id = f"R-{t.day.isoformat()}-{t.ticket_no}-{t.counter}"
    j.add(
        "rating.requested",
        done_at,
        {
            "rating_id": t.rating_id,
            "counter": t.counter,
            "staff_id": t.staff,
            "ticket_no": t.ticket_no,
        },
        device="hub",
    )
    roll = rng.random()
    if roll < 0.12:
        t.rating_timed_out = True
        _timed_out(j, t, done_at)
        return
    _submit_rating(j, rng, t, done_at)


def _timed_out(j: _Journal, t: TicketTruth, done_at: datetime) -> None:
    j.add(
        "rating.timed_out",
        done_at + timedelta(seconds=60),
        {"rating_id": t.rating_id, "counter": t.counter},
        device="hub",
    )


def _submit_rating(j: _Journal, rng: random.Random, t: TicketTruth, done_at: datetime) -> None:
    t.rating = rng.choices([5, 4, 3, 2, 1], weights=[0.62, 0.25, 0.07, 0.04, 0.02])[0]
    rated_at = done_at + timedelta(seconds=rng.uniform(3, 50))
    data: dict[str, Any] = {"rating_id": t.rating_id, "counter": t.counter, "level": t.rating}
    kind = rng.random()
    if kind < 0.5:  # the queue manager enriched it
        data.update(staff_id=t.staff, ticket_no=t.ticket_no)
    elif kind < 0.6:  # counters sent as numbers by some pads
        data["counter"] = int(t.counter)
    late = rated_at + timedelta(days=3) if rng.random() < 0.03 else None  # pad offline for days
    if rng.random() < 0.02:  # rated after the time-out fired: the rating still counts
        _timed_out(j, t, done_at)
        rated_at = done_at + timedelta(seconds=61)
    eid = j.add("rating.submitted", rated_at, data, device=f"pad{t.counter}", arrive=late)
    roll = rng.random()
    if roll < 0.03:  # same envelope id delivered twice
        j.add(
            "rating.submitted",
            rated_at,
            dict(data),
            arrive=rated_at + timedelta(hours=2),
            same_id_as=eid,
        )
    elif roll < 0.06:  # re-sent by the pad under a new id
        j.add(
            "rating.submitted",
            rated_at,
            dict(data),
            device=f"pad{t.counter}",
            arrive=rated_at + timedelta(seconds=30),
        )


def _special_tickets(
    hm: HallMonth, j: _Journal, rng: random.Random, tz: ZoneInfo, today_staff: dict[str, str]
) -> None:
    """Tickets across midnight: one mid-month, one across the month's end."""
    counter = hm.counters[0]
    mid, last = hm.days[9], hm.days[-1]
    # The next month's first ticket has the same number as a ticket of this month: only
    # its time tells them apart, and it must not count here.
    nxt = last + timedelta(days=1)
    scratch = HallMonth(month="", first=nxt, days=[nxt], counters=[counter])
    for into, day, ticket_no, service, issued, wait_s, service_s in (
        (hm, mid, "Z001", "new_install", time(23, 50), 600, 720),
        (hm, last, "Z002", "payment", time(23, 55), 200, 400),
        (scratch, nxt, "A001", "payment", time(8, 40), 60, 100),
    ):
        _ticket(
            into,
            j,
            rng,
            day,
            ticket_no,
            service,
            datetime.combine(day, issued, tzinfo=tz),
            [counter],
            today_staff,
            1.0,
            outcome="completed",
            wait_s=wait_s,
            service_s=service_s,
            counter=counter,
        )
