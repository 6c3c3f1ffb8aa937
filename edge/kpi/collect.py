"""What the journal says about a run of days, de-duplicated, joined and dated.

Delivery is at least once, so the same happening can reach the journal twice: with the
same envelope id (dropped at once), or re-sent by a device under a new id (dropped by its
business key: a ticket's outcome per business day, a rating id, a feedback id). The first
one in the order given (journal order) wins.

A ticket belongs to its *business day*: the hall-local day on which it was issued. An
outcome event (`queue.ticket.completed`/`abandoned`) is dated by the instant the ticket
was issued, taken as event time - wait_s - service_s, so a ticket issued at 23:50 and
completed at 00:10 counts on the day it was issued, and ticket numbers that restart every
morning never collide. A rating belongs to the business day of the ticket it rates.
Everything else (issued tickets, kiosk payments, feedback) is dated by its own event time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from edge.config.kpi import KpiSection
from edge.kpi.facts import (
    ABANDONED,
    CALLED,
    CLOCK_SKEW_S,
    COMPLETED,
    COUNTER_STATE,
    FEEDBACK_CLOSED,
    FEEDBACK_SUBMITTED,
    ISSUED,
    KIOSK_PAYMENT,
    KPI_EVENT_TYPES,
    RATING_JOIN_WINDOW_S,
    RATING_REQUESTED,
    RATING_SUBMITTED,
    RATING_TIMED_OUT,
    UNKNOWN,
    FeedbackFact,
    KioskPayment,
    Ledger,
    RatingFact,
    TicketOutcome,
)
from edge.kpi.periods import Calendar, as_aware
from edge.model import JournaledEvent


def _seconds(value: Any) -> float:
    """A duration field as non-negative seconds; anything unusable counts as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if value > 0 else 0.0


def _text(value: Any) -> str:
    """An id field as text ('' when absent); counters may be sent as numbers."""
    if type(value) is str:
        return value
    if value is None or isinstance(value, bool):
        return ""
    return str(value)


def _instant(moment: datetime) -> float:
    return (moment if moment.tzinfo is not None else as_aware(moment)).timestamp()


# (instant, counter, staff, ticket day, service) of a completion, kept for rating joins.
_Completion = tuple[float, str, str, int, str]


class _Collector:
    """Sorts the events by type in one pass, then reads each type in a loop of its own.

    Types are read in a fixed order (issued before their outcomes, completions before the
    ratings that join them), so the result does not depend on the journal's order except
    for which of two duplicates is kept, and duplicates carry the same facts.
    """

    def __init__(self, calendar: Calendar, section: KpiSection) -> None:
        self.ledger = Ledger(calendar)
        self.section = section
        self.by_type: dict[str, list[JournaledEvent]] = {t: [] for t in KPI_EVENT_TYPES}
        self.n_days = len(calendar.days)
        self.bounds = calendar.bounds
        self.day_of = calendar.index  # hot loops inline the same bisection
        self.outcome_keys: set[tuple[int, str]] = set()
        self.completions: dict[str, list[_Completion]] = defaultdict(list)
        self.staffing: dict[str, list[tuple[float, str]]] = defaultdict(list)

    def sort(self, events: Iterable[JournaledEvent]) -> None:
        by_type = self.by_type
        seen: set[str] = set()
        for ev in events:
            bucket = by_type.get(ev.type)
            if bucket is None or ev.id in seen:
                continue
            seen.add(ev.id)
            bucket.append(ev)

    def run(self) -> Ledger:
        self._counter_states()
        self._issued()
        self._completed()
        self._abandoned()
        self._ratings()
        self._kiosk_payments()
        self._feedback()
        return self.ledger

    def _counter_states(self) -> None:
        day_of, open_days = self.day_of, self.ledger.open_days
        for ev in self.by_type[COUNTER_STATE]:
            data = ev.data
            counter = _text(data.get("counter"))
            if not counter:
                continue
            ts = _instant(ev.time)
            self.staffing[counter].append((ts, _text(data.get("staff_id"))))
            day = day_of(ts)
            if day >= 0 and data.get("state") == "open":
                open_days.setdefault(counter, set()).add(day)
        for changes in self.staffing.values():
            changes.sort()

    def staff_at(self, counter: str, ts: float) -> str:
        """Who the last `counter.state_changed` before `ts` put at the counter."""
        changes = self.staffing.get(counter)
        if not changes:
            return ""
        i = bisect_right(changes, (ts, "\uffff"))
        return changes[i - 1][1] if i else ""

    def _issued(self) -> None:
        bounds, n_days, issued = self.bounds, self.n_days, self.ledger.issued
        for ev in self.by_type[ISSUED]:
            moment = ev.time
            ts = moment.timestamp() if moment.tzinfo is not None else _instant(moment)
            day = bisect_right(bounds, ts) - 1
            if day < 0 or day >= n_days:
                continue
            data = ev.data
            ticket = data.get("ticket_no")
            if type(ticket) is not str:
                ticket = _text(ticket)
            key = (day, ticket or ev.id)
            if key not in issued:
                issued[key] = _text(data.get("service")) or UNKNOWN

    def _completed(self) -> None:
        # The hottest loop of a month report (one pass per completed ticket): locals and
        # inline fast paths for the usual field types instead of helper calls.
        bounds, n_days = self.bounds, self.n_days
        issued, keys = self.ledger.issued, self.outcome_keys
        completions, outcomes = self.completions, self.ledger.outcomes
        for ev in self.by_type[COMPLETED]:
            data = ev.data
            moment = ev.time
            ts = moment.timestamp() if moment.tzinfo is not None else _instant(moment)
            wait = data.get("wait_s")
            if type(wait) is not int or wait < 0:
                wait = _seconds(wait)
            served = data.get("service_s")
            if type(served) is not int or served < 0:
                served = _seconds(served)
            day = bisect_right(bounds, ts - wait - served) - 1
            if day >= n_days:
                day = -1
            ticket = data.get("ticket_no")
            if type(ticket) is not str:
                ticket = _text(ticket)
            counter = data.get("counter")
            if type(counter) is not str:
                counter = _text(counter)
            staff = data.get("staff_id")
            if type(staff) is not str:
                staff = _text(staff)
            service = data.get("service")
            if type(service) is not str:
                service = _text(service)
            counter = counter or UNKNOWN
            service = service or issued.get((day, ticket), UNKNOWN)
            # Kept even outside the run: a rating of such a ticket must be left out too.
            completions[ticket].append((ts, counter, staff, day, service))
            key = (day, ticket)
            if day < 0 or not ticket or key in keys:
                continue
            keys.add(key)
            staff = staff or self.staff_at(counter, ts) or UNKNOWN
            outcomes.append(
                TicketOutcome(
                    day,
                    ticket,
                    ts,
                    "completed",
                    service,
                    counter,
                    staff,
                    float(wait),
                    float(served),
                )
            )
        for done in completions.values():
            done.sort()

    def _abandoned(self) -> None:
        abandoned = self.by_type[ABANDONED]
        # Calls matter only for tickets that were abandoned (who called the no-show).
        wanted = {_text(ev.data.get("ticket_no")) for ev in abandoned}
        calls: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
        for ev in self.by_type[CALLED]:
            data = ev.data
            ticket = _text(data.get("ticket_no"))
            if ticket in wanted:
                calls[ticket].append(
                    (_instant(ev.time), _text(data.get("counter")), _text(data.get("staff_id")))
                )
        day_of, issued, keys = self.day_of, self.ledger.issued, self.outcome_keys
        for ev in abandoned:
            data = ev.data
            ts = _instant(ev.time)
            wait = _seconds(data.get("wait_s"))
            day = day_of(ts - wait)
            ticket = _text(data.get("ticket_no")) or ev.id
            if day < 0 or (day, ticket) in keys:
                continue
            keys.add((day, ticket))
            reason = "left" if data.get("reason") == "left" else "no_show"
            counter, staff = self._last_call(calls.get(ticket, ()), ts, wait)
            service = issued.get((day, ticket), UNKNOWN)
            self.ledger.outcomes.append(
                TicketOutcome(day, ticket, ts, reason, service, counter, staff, wait, 0.0)
            )

    def _last_call(
        self, calls: Iterable[tuple[float, str, str]], ts: float, wait: float
    ) -> tuple[str, str]:
        """Counter and staff of the last call of an abandoned ticket (a no-show), if any."""
        best: tuple[float, str, str] | None = None
        lo, hi = ts - wait - CLOCK_SKEW_S, ts + CLOCK_SKEW_S
        for call in calls:
            if lo <= call[0] <= hi and (best is None or call[0] > best[0]):
                best = call
        if best is None or not best[1]:
            return UNKNOWN, UNKNOWN
        return best[1], best[2] or self.staff_at(best[1], best[0]) or UNKNOWN

    def _ratings(self) -> None:
        # rating id -> (instant, level or None, counter, staff, ticket)
        ratings: dict[str, tuple[float, int | None, str, str, str]] = {}
        for ev in self.by_type[RATING_SUBMITTED]:
            data = ev.data
            level = data.get("level")
            if type(level) is not int or not 1 <= level <= 5:
                continue
            rid = data.get("rating_id")
            if type(rid) is not str:
                rid = _text(rid)
            rid = rid or ev.id
            if rid not in ratings:
                moment = ev.time
                ratings[rid] = (
                    moment.timestamp() if moment.tzinfo is not None else _instant(moment),
                    level,
                    _text(data.get("counter")),
                    _text(data.get("staff_id")),
                    _text(data.get("ticket_no")),
                )
        for ev in self.by_type[RATING_TIMED_OUT]:
            rid = _text(ev.data.get("rating_id")) or ev.id
            # A submission that came after the time-out wins: the customer did rate.
            if rid not in ratings:
                ratings[rid] = (_instant(ev.time), None, _text(ev.data.get("counter")), "", "")
        # rating.requested fills in what a rating pad does not know (staff, ticket).
        missing = {rid for rid, r in ratings.items() if not (r[2] and r[3] and r[4])}
        requested: dict[str, tuple[str, str, str]] = {}
        for ev in self.by_type[RATING_REQUESTED] if missing else ():
            data = ev.data
            rid = _text(data.get("rating_id")) or ev.id
            if rid in missing and rid not in requested:
                requested[rid] = (
                    _text(data.get("counter")),
                    _text(data.get("staff_id")),
                    _text(data.get("ticket_no")),
                )
        facts = self.ledger.ratings
        nothing = ("", "", "")
        for rid, rating in ratings.items():
            fact = self._resolve_rating(rid, rating, requested.get(rid, nothing))
            if fact is not None:
                facts.append(fact)

    def _resolve_rating(
        self,
        rid: str,
        rating: tuple[float, int | None, str, str, str],
        req: tuple[str, str, str],
    ) -> RatingFact | None:
        ts, level, counter, staff, ticket = rating
        ticket = ticket or req[2]
        match: _Completion | None = None
        done = self.completions.get(ticket) if ticket else None
        if done:
            # the latest completion of that ticket number before the rating (sorted by time)
            i = bisect_right(done, (ts + CLOCK_SKEW_S, "\uffff")) - 1
            if i >= 0 and done[i][0] >= ts - RATING_JOIN_WINDOW_S:
                match = done[i]
        day = match[3] if match is not None else self.day_of(ts)
        if day < 0:
            return None
        counter = counter or req[0] or (match[1] if match else "") or UNKNOWN
        staff = (
            staff or req[1] or (match[2] if match else "") or self.staff_at(counter, ts) or UNKNOWN
        )
        service = match[4] if match else UNKNOWN
        return RatingFact(day, rid, level, counter, staff, service)

    def _kiosk_payments(self) -> None:
        day_of, buckets = self.day_of, self.section.kiosk_channels
        ok_results = frozenset(self.section.payment_ok_results)
        payments = self.ledger.kiosk_payments
        for ev in self.by_type[KIOSK_PAYMENT]:
            day = day_of(_instant(ev.time))
            if day < 0:
                continue
            data = ev.data
            channel = _text(data.get("channel"))
            result = data.get("result")
            ok = result is None or _text(result) in ok_results
            payments.append(KioskPayment(day, buckets.get(channel, channel or UNKNOWN), ok))

    def _feedback(self) -> None:
        closed_at = self.ledger.closed_at
        for ev in self.by_type[FEEDBACK_CLOSED]:
            fid = _text(ev.data.get("feedback_id"))
            ts = _instant(ev.time)
            if fid and ts < closed_at.get(fid, float("inf")):
                closed_at[fid] = ts
        seen: set[str] = set()
        for ev in self.by_type[FEEDBACK_SUBMITTED]:
            data = ev.data
            fid = _text(data.get("feedback_id")) or ev.id
            day = self.day_of(_instant(ev.time))
            if day < 0 or fid in seen:
                continue
            seen.add(fid)
            category = _text(data.get("category")) or UNKNOWN
            self.ledger.feedback.append(FeedbackFact(day, fid, category))


def collect(events: Iterable[JournaledEvent], calendar: Calendar, section: KpiSection) -> Ledger:
    """De-duplicate, date and join the events of `calendar`'s days (others are ignored)."""
    collector = _Collector(calendar, section)
    collector.sort(events)
    return collector.run()
