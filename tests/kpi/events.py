"""Small hand-written journals for the edge cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from edge.model import JournaledEvent
from edge.sim.month import SHANGHAI

_seq = count(1)


def at(text: str) -> datetime:
    """'2026-11-27 09:30' (hall time) or a full ISO time with its own offset."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHANGHAI)


def ev(kind: str, when: str, event_id: str | None = None, **data: Any) -> JournaledEvent:
    """A journaled event with the next sequence number (and a fresh id unless given)."""
    seq = next(_seq)
    return JournaledEvent(
        seq=seq, id=event_id or f"T{seq:08d}", type=kind, device_id="dev", time=at(when), data=data
    )


def ticket(
    day: str,
    issued: str,
    no: str,
    counter: str,
    staff: str,
    wait_s: int = 300,
    service_s: int = 240,
    service: str = "payment",
) -> list[JournaledEvent]:
    """Issued + called + completed events of one served ticket."""
    t0 = at(f"{day} {issued}")
    called = t0 + timedelta(seconds=wait_s)
    done = called + timedelta(seconds=service_s)
    return [
        ev("queue.ticket.issued", t0.isoformat(), ticket_no=no, service=service, channel="kiosk"),
        ev(
            "queue.ticket.called", called.isoformat(), ticket_no=no, counter=counter, staff_id=staff
        ),
        ev(
            "queue.ticket.completed",
            done.isoformat(),
            ticket_no=no,
            counter=counter,
            staff_id=staff,
            service=service,
            wait_s=wait_s,
            service_s=service_s,
        ),
    ]


def rating(
    when: str, rid: str, counter: str, level: int, staff: str = "", no: str = ""
) -> JournaledEvent:
    data: dict[str, Any] = {"rating_id": rid, "counter": counter, "level": level}
    if staff:
        data["staff_id"] = staff
    if no:
        data["ticket_no"] = no
    return ev("rating.submitted", when, **data)


def rated_tickets(
    counter: str, staff: str, levels: list[int], day: str = "2026-11-05", prefix: str = ""
) -> list[JournaledEvent]:
    """One served and rated ticket per level, a few minutes apart, at one counter."""
    out: list[JournaledEvent] = []
    start = at(f"{day} 09:00")
    for i, level in enumerate(levels):
        no = f"{prefix or 'C' + counter}-{i:03d}"
        issued = start + timedelta(minutes=7 * i)
        evs = ticket(day, issued.strftime("%H:%M:%S"), no, counter, staff, wait_s=60, service_s=120)
        done = evs[-1].time + timedelta(seconds=10)
        out += [*evs, rating(done.isoformat(), f"R{counter}-{day}-{i}", counter, level, staff, no)]
    return out
