"""Deciding on a clerk's key press (counter.action): call, recall, finish, transfer, pause...

Every change is a result event through `Outcome.emit`; this module only chooses which.
Actions that cannot apply (finish with nothing called, a transfer to an unknown counter,
an unknown counter number) change nothing and produce nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from edge.config.queue import CounterConf, QueueSection
from edge.model import JournaledEvent
from edge.queue import catalogue as c
from edge.queue.calling import next_ticket
from edge.queue.device_commands import announce_call, show_digits
from edge.queue.hall_time import hall_iso, seconds
from edge.queue.outcome import Outcome
from edge.queue.state import Counter, Ticket
from edge.queue.values import as_int


def decide_action(out: Outcome, ev: JournaledEvent, section: QueueSection) -> None:
    """Carry out one counter.action, unless it repeats a press already carried out."""
    data = ev.data
    number = as_int(data.get("counter"))
    conf = section.counter(number) if number is not None else None
    action = data.get("action")
    if conf is None or not isinstance(action, str) or action not in c.ACTIONS:
        return
    press = data.get("press_id")
    press_id = None if press is None or press == "" else str(press)
    counter = out.state.counter(conf.number)
    if press_id is not None and _repeated(counter, press_id, out, section.repeat_guard_s):
        return
    staff = data.get("staff_id")
    desk = _Desk(out, section, conf, press_id, str(staff) if staff else counter.staff_id)
    _ACTIONS[action](desk, data)


def _repeated(counter: Counter, press_id: str, out: Outcome, guard_s: float) -> bool:
    seen = counter.presses.get(press_id)
    return seen is not None and abs((out.at - seen).total_seconds()) <= guard_s


class _Desk:
    """One counter's decision in progress."""

    def __init__(
        self,
        out: Outcome,
        section: QueueSection,
        conf: CounterConf,
        press_id: str | None,
        staff_id: str,
    ) -> None:
        self.out = out
        self.section = section
        self.conf = conf
        self.press_id = press_id
        self.staff_id = staff_id

    # -- reading the state ---------------------------------------------------------------
    @property
    def counter(self) -> Counter:
        return self.out.state.counter(self.conf.number)

    def current(self) -> Ticket | None:
        number = self.counter.current
        return None if number is None else self.out.state.tickets.get(number)

    # -- results -------------------------------------------------------------------------
    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        if self.press_id is not None:
            data["press_id"] = self.press_id
        self.out.emit(event_type, data)

    def set_state(self, state: str) -> None:
        counter = self.counter
        if counter.state == state and counter.staff_id == self.staff_id:
            return
        self.emit(
            c.COUNTER_STATE_CHANGED,
            {"counter": self.conf.number, "state": state, "staff_id": self.staff_id},
        )

    def call(self, ticket: Ticket, lane: str | None, call_no: int) -> None:
        self.emit(
            c.TICKET_CALLED,
            {
                "ticket_no": ticket.ticket_no,
                "counter": self.conf.number,
                "staff_id": self.staff_id,
                "call_no": call_no,
                "service": ticket.service,
                "priority": ticket.priority,
                "lane": lane,
                "wait_s": seconds(self.out.at, ticket.issued_at),
            },
        )
        announce_call(self.out, self.section, self.conf, ticket.ticket_no)

    def complete(self, ticket: Ticket) -> None:
        first = ticket.first_called_at or self.out.at
        last = ticket.last_called_at or self.out.at
        self.emit(
            c.TICKET_COMPLETED,
            {
                "ticket_no": ticket.ticket_no,
                "counter": self.conf.number,
                "staff_id": self.staff_id,
                "service": ticket.service,
                "priority": ticket.priority,
                "channel": ticket.channel,
                "wait_s": seconds(first, ticket.issued_at),
                "service_s": seconds(self.out.at, last),
                "issued_at": hall_iso(ticket.issued_at, self.out.tz),
            },
        )
        self.request_rating(ticket)

    def request_rating(self, ticket: Ticket) -> None:
        pad = self.conf.rating_pad
        if not pad:
            return
        state = self.out.state
        for pending in [r for r in state.ratings.values() if r.counter == self.conf.number]:
            # The pad shows one request at a time: the new customer's replaces the old one.
            self.out.emit(
                c.RATING_TIMED_OUT,
                {
                    "rating_id": pending.rating_id,
                    "counter": pending.counter,
                    "staff_id": pending.staff_id,
                    "ticket_no": pending.ticket_no,
                    "service": pending.service,
                    "reason": "superseded",
                },
            )
        rating_id = f"{state.day:%Y%m%d}-{ticket.ticket_no}"
        # Whole seconds: pads count their time-out in a byte of seconds.
        timeout_s = max(1, round(self.section.rating_timeout_s))
        self.emit(
            c.RATING_REQUESTED,
            {
                "rating_id": rating_id,
                "counter": self.conf.number,
                "staff_id": self.staff_id,
                "ticket_no": ticket.ticket_no,
                "service": ticket.service,
                "timeout_s": timeout_s,
            },
        )
        self.out.command(
            pad,
            c.RATING_START,
            {
                "rating_id": rating_id,
                "counter": self.conf.number,
                "staff_id": self.staff_id,
                "ticket_no": ticket.ticket_no,
                "timeout_s": timeout_s,
            },
        )

    def abandon(self, ticket: Ticket, reason: str) -> None:
        self.emit(
            c.TICKET_ABANDONED,
            {
                "ticket_no": ticket.ticket_no,
                "counter": self.conf.number,
                "staff_id": self.staff_id,
                "service": ticket.service,
                "priority": ticket.priority,
                "reason": reason,
                "wait_s": seconds(ticket.first_called_at or self.out.at, ticket.issued_at),
                "calls": ticket.call_no,
                "issued_at": hall_iso(ticket.issued_at, self.out.tz),
            },
        )

    def send_back(self, ticket: Ticket, reason: str) -> None:
        """Return a ticket waiting for this counter to its service's queue."""
        self.emit(
            c.TICKET_TRANSFERRED,
            {
                "ticket_no": ticket.ticket_no,
                "from_counter": self.conf.number,
                "to_counter": None,
                "to_service": ticket.service,
                "service": ticket.service,
                "staff_id": self.staff_id,
                "reason": reason,
            },
        )

    # -- the actions ---------------------------------------------------------------------
    def call_next(self, data: Mapping[str, Any]) -> None:
        # A closed counter opens and a paused one resumes: serial callers have no resume key.
        self.set_state(c.OPEN_STATE)
        current = self.current()
        if current is not None:
            self.complete(current)
        picked = next_ticket(self.out.state, self.conf, self.section.priority)
        if picked is None:
            show_digits(self.out, self.conf, c.NOTHING_WAITING_TEXT)
            return
        self.call(picked[0], picked[1], 1)

    def recall(self, data: Mapping[str, Any]) -> None:
        current = self.current()
        if current is None:
            return
        if current.call_no > self.section.recalls:
            self.abandon(current, "no_show")
            show_digits(self.out, self.conf, c.NOTHING_WAITING_TEXT)
            return
        self.call(current, None, current.call_no + 1)

    def finish(self, data: Mapping[str, Any]) -> None:
        current = self.current()
        if current is not None:
            self.complete(current)

    def no_show(self, data: Mapping[str, Any]) -> None:
        current = self.current()
        if current is not None:
            self.abandon(current, "no_show")
            show_digits(self.out, self.conf, c.NOTHING_WAITING_TEXT)

    def pause(self, data: Mapping[str, Any]) -> None:
        state = self.counter.state
        if state == c.PAUSED_STATE:
            self.set_state(c.OPEN_STATE)  # one pause key toggles on serial callers
        elif state == c.OPEN_STATE:
            self.set_state(c.PAUSED_STATE)
            show_digits(self.out, self.conf, c.PAUSED_TEXT)

    def resume(self, data: Mapping[str, Any]) -> None:
        self.set_state(c.OPEN_STATE)

    def open(self, data: Mapping[str, Any]) -> None:
        self.set_state(c.OPEN_STATE)

    def close(self, data: Mapping[str, Any]) -> None:
        current = self.current()
        if current is not None:
            self.complete(current)
        waiting_here = [
            t
            for t in self.out.state.tickets.values()
            if t.waiting and t.target_counter == self.conf.number
        ]
        for ticket in sorted(waiting_here, key=Ticket.sort_key):
            self.send_back(ticket, "counter_closed")
        self.set_state(c.CLOSED_STATE)

    def transfer(self, data: Mapping[str, Any]) -> None:
        current = self.current()
        if current is None:
            return
        to_counter = as_int(data.get("to_counter"))
        to_service = data.get("to_service")
        if to_counter is not None:
            target = self.section.counter(to_counter)
            if target is None or to_counter == self.conf.number:
                return
            if self.out.state.counter(to_counter).state == c.CLOSED_STATE:
                # Nobody would call it there: it goes back to its service's queue.
                self.send_back(current, "counter_closed")
            else:
                self.emit(
                    c.TICKET_TRANSFERRED,
                    {
                        "ticket_no": current.ticket_no,
                        "from_counter": self.conf.number,
                        "to_counter": to_counter,
                        "to_service": None,
                        "service": current.service,
                        "staff_id": self.staff_id,
                        "reason": "clerk",
                    },
                )
        elif isinstance(to_service, str) and self.section.service(to_service) is not None:
            self.emit(
                c.TICKET_TRANSFERRED,
                {
                    "ticket_no": current.ticket_no,
                    "from_counter": self.conf.number,
                    "to_counter": None,
                    "to_service": to_service,
                    "service": to_service,
                    "staff_id": self.staff_id,
                    "reason": "clerk",
                },
            )
        else:
            return
        show_digits(self.out, self.conf, c.NOTHING_WAITING_TEXT)


_ACTIONS: dict[str, Callable[[_Desk, Mapping[str, Any]], None]] = {
    c.CALL_NEXT: _Desk.call_next,
    c.RECALL: _Desk.recall,
    c.FINISH: _Desk.finish,
    c.NO_SHOW: _Desk.no_show,
    c.PAUSE: _Desk.pause,
    c.RESUME: _Desk.resume,
    c.OPEN: _Desk.open,
    c.CLOSE: _Desk.close,
    c.TRANSFER: _Desk.transfer,
}
