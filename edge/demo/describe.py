"""One short line of text per event, for the demo's "last events" list."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

MAX_TEXT = 64
LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}

Describer = Callable[[Mapping[str, Any]], str]


def _yuan(cents: Any) -> str:
    return f"¥{cents / 100:.2f}" if isinstance(cents, int | float) else "¥?"


def _counter(d: Mapping[str, Any]) -> str:
    return f"{d.get('counter', '?')}号窗口"


def _stars(level: Any) -> str:
    if not isinstance(level, int) or not 1 <= level <= 5:
        return f"等级{level}"
    return "★" * level + "☆" * (5 - level) + f" {LEVELS[level]}"


_DESCRIBERS: dict[str, Describer] = {
    "queue.ticket.requested": lambda d: f"取号 {d.get('service')} {d.get('priority', '')}",
    "queue.ticket.issued": lambda d: (
        f"{d.get('ticket_no')} {d.get('service')} 前面{d.get('waiting_ahead', '?')}人"
    ),
    "queue.ticket.refused": lambda d: f"拒绝 {d.get('service')}: {d.get('reason')}",
    "queue.ticket.called": lambda d: (
        f"请{d.get('ticket_no')}号到{_counter(d)}"
        + (f" (第{d.get('call_no')}次)" if d.get("call_no", 1) != 1 else "")
    ),
    "queue.ticket.completed": lambda d: (
        f"{d.get('ticket_no')} @{_counter(d)} 办结 等{d.get('wait_s')}s 办{d.get('service_s')}s"
    ),
    "queue.ticket.transferred": lambda d: (
        f"{d.get('ticket_no')} {d.get('from_counter')}→{d.get('to_counter') or d.get('to_service')}"
    ),
    "queue.ticket.abandoned": lambda d: f"{d.get('ticket_no')} 过号 ({d.get('reason')})",
    "queue.status": lambda d: (
        f"{d.get('service')} 等候{d.get('waiting')}人 开{d.get('open_counters')}窗"
    ),
    "counter.action": lambda d: f"{_counter(d)} {d.get('action')}",
    "counter.state_changed": lambda d: f"{_counter(d)} → {d.get('state')}",
    "rating.requested": lambda d: f"{_counter(d)} 请评价 {d.get('ticket_no')}",
    "rating.submitted": lambda d: f"{_counter(d)} {_stars(d.get('level'))}",
    "rating.received": lambda d: f"{d.get('ticket_no')} {_stars(d.get('level'))}",
    "rating.timed_out": lambda d: f"{_counter(d)} 未评价 ({d.get('reason', 'timeout')})",
    "kiosk.payment": lambda d: (
        f"{_yuan(d.get('amount_cents'))} {d.get('channel')} {d.get('result', '')}"
    ),
    "invoice.printed": lambda d: f"发票 {d.get('invoice_no')} {_yuan(d.get('amount_cents'))}",
    "printer.status": lambda d: (
        f"纸张 {d.get('paper')}"
        + (" 开盖" if d.get("cover_open") else "")
        + (" 切刀故障" if d.get("cutter_error") else "")
    ),
    "feedback.submitted": lambda d: f"{d.get('category')}: {d.get('text', '')}",
    "form.submitted": lambda d: f"{d.get('form')} @{d.get('desk')}",
    "robot.status": lambda d: f"电量{d.get('battery')}% {d.get('mode')} @{d.get('position', '?')}",
    "robot.task": lambda d: f"{d.get('task')} {d.get('state')}",
    "alert.raised": lambda d: f"[{d.get('severity')}] {d.get('message')}",
    "device.online": lambda d: "在线",
    "device.offline": lambda d: "离线" + (f" ({d['reason']})" if d.get("reason") else ""),
    "device.error": lambda d: f"故障 {d.get('reason')}",
}


def _generic(data: Mapping[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in data.items() if not isinstance(v, Mapping | list)]
    return " ".join(parts)


def describe(event_type: str, data: Any) -> str:
    """A short human line for an event's data (Chinese where the hall speaks it)."""
    if not isinstance(data, Mapping):
        return ""
    fn = _DESCRIBERS.get(event_type, _generic)
    try:
        text = fn(data)
    except (TypeError, ValueError, KeyError):
        text = _generic(data)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
