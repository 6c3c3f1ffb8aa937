"""Deciding on a ticket request: a number, or a refusal, and the print command."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.config.queue import PRIORITY_CLASSES, QueueSection
from edge.model import HUB_DEVICE, JournaledEvent
from edge.queue import catalogue as c
from edge.queue.calling import lane_of
from edge.queue.estimate import estimate_wait_s, waiting_ahead
from edge.queue.hall_time import HallClock, hall_iso
from edge.queue.outcome import Outcome

CLOUD_DEVICE = "cloud"
_NO_PRINTER = frozenset({CLOUD_DEVICE, HUB_DEVICE})

_REFUSAL_TEXT = {
    "closed": "不在取号时间，请在营业时间内取号",
    "unknown_service": "暂不办理此项业务",
}


def ticket_no(letter: str, number: int) -> str:
    """A012: the service letter and at least three digits."""
    return f"{letter}{number:03d}"


def priority_of(data: Mapping[str, Any]) -> str:
    """The request's priority class; anything unknown is served as normal."""
    value = data.get("priority")
    return value if isinstance(value, str) and value in PRIORITY_CLASSES else c.NORMAL


def decide_request(
    out: Outcome, ev: JournaledEvent, section: QueueSection, clock: HallClock
) -> None:
    """Issue the next number of the requested service, or refuse; answer the asking device."""
    data = ev.data
    request_id = str(data.get("request_id") or ev.id)
    state = out.state
    asking = None if ev.device_id in _NO_PRINTER else ev.device_id
    earlier = state.requests.get(request_id)
    if earlier is not None:
        # A repeated request (a retried message, a second tap) gets its ticket again, not
        # a second one; nothing changes, so nothing is journaled.
        out.command(asking, c.TICKET_PRINT, _print_args(request_id, earlier, section))
        return
    code = data.get("service")
    service = section.service(code) if isinstance(code, str) else None
    priority = priority_of(data)
    default_channel = "wechat" if ev.device_id == CLOUD_DEVICE else "kiosk"
    channel = str(data.get("channel") or default_channel)
    reason = "unknown_service" if service is None else None
    if reason is None and not clock.issuing(out.at):
        reason = "closed"
    if service is None or reason is not None:
        refusal = {
            "request_id": request_id,
            "service": code,
            "priority": priority,
            "channel": channel,
            "reason": reason,
        }
        out.emit(c.TICKET_REFUSED, refusal)
        out.command(
            asking,
            c.TICKET_REFUSE,
            {"request_id": request_id, "reason": reason, "text": _REFUSAL_TEXT[reason or "closed"]},
        )
        return
    number = state.last_number.get(service.code, 0) + 1
    lane = lane_of(priority, section.priority)
    ahead = waiting_ahead(state, section, service.code, lane)
    est_s = estimate_wait_s(state, section, service.code, lane, ahead)
    issued = {
        "ticket_no": ticket_no(service.letter, number),
        "number": number,
        "service": service.code,
        "priority": priority,
        "channel": channel,
        "request_id": request_id,
        "waiting_ahead": ahead,
        "est_wait_min": round(est_s / 60),
        "issued_at": hall_iso(out.at, clock.tz),
        "day": str(state.day),
    }
    out.emit(c.TICKET_ISSUED, issued)
    out.command(asking, c.TICKET_PRINT, _print_args(request_id, issued, section))


def _print_args(
    request_id: str, issued: Mapping[str, Any], section: QueueSection
) -> dict[str, Any]:
    service = section.service(issued["service"])
    return {
        "request_id": request_id,
        "ticket_no": issued["ticket_no"],
        "service": issued["service"],
        "service_name_zh": service.name_zh if service is not None else issued["service"],
        "waiting_ahead": issued["waiting_ahead"],
        "est_wait_min": issued["est_wait_min"],
        "issued_at": issued["issued_at"],
    }
