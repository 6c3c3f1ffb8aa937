"""The demo's closing summary counts what the cloud got, and explains every refusal."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from edge.demo.summary import DemoResult, HallCounts, failure_lines, summary
from edge.demo.tally import CloudTally, SeqReport
from edge.demo.view import failures_text
from edge.sim.hall_day import HallDayReport


def _envelope(seq: int, etype: str, device: str) -> bytes:
    return (
        f'{{"specversion": "1.0", "id": "e{seq}", "type": "{etype}", "source": "/halls/h/'
        f'devices/{device}", "time": "2026-12-03T09:00:00+08:00", "deviceid": "{device}", '
        f'"hallseq": {seq}, "data": {{}}}}'
    ).encode()


def test_the_hall_day_is_the_cloud_tally() -> None:
    tally = CloudTally("h")
    sent = [
        ("queue.ticket.requested", "ticket-1"),
        ("queue.ticket.requested", "ticket-1"),
        ("queue.ticket.requested", "cloud"),
        ("queue.ticket.issued", "hub"),
        ("queue.ticket.called", "hub"),
        ("queue.ticket.called", "hub"),
        ("queue.ticket.completed", "hub"),
        ("rating.submitted", "pad-1"),
    ]
    for seq, (etype, device) in enumerate(sent, start=1):
        tally.on_message(f"halls/h/events/{etype}", _envelope(seq, etype, device), 0.0)
    tally.on_message(
        "halls/h/replies/printer-1",
        b'{"cmd_id": "c1", "code": 500, "msg": "printer-1 cannot print: paper end"}',
        0.0,
    )
    snap = tally.snapshot(1.0)
    # The simulators believe otherwise (they count key presses): the summary ignores them.
    day = HallDayReport(tickets_requested=9, calls=40, served=30, reached="12:00")
    result = DemoResult(
        workdir=Path("/tmp"),
        kept=False,
        elapsed_s=1.0,
        events=snap.events,
        by_type=snap.by_type,
        by_device=snap.by_device,
        by_source=snap.by_source,
        seq=SeqReport(1, 8, 8, 0, (), 0),
        replies=snap.replies,
        commands_sent=1,
        alerts=0,
        metrics={},
        journal_last_seq=8,
        devices={},
        day=day,
        failures=snap.failures,
    )
    counts = HallCounts.of(result)
    assert (counts.tickets_requested, counts.tickets_wechat, counts.tickets_issued) == (3, 1, 1)
    assert (counts.calls, counts.completed, counts.ratings) == (2, 1, 1)
    out = Console(file=io.StringIO(), width=200, record=True)
    out.print(summary(result))
    text = out.export_text()
    assert "3 requested (1 by WeChat), 1 issued" in text
    assert "2 (recalls included), 1 completed" in text
    assert "40" not in text and "30 served" not in text  # the simulators' own counts
    (line,) = failure_lines(result.failures)
    assert line.startswith("500 ×1 printer-1: printer-1 cannot print: paper end (")
    assert "nobody refills it" in line and line in " ".join(text.split())
    assert "paper end" in failures_text(result.failures)


def test_a_compressed_day_needs_no_note_on_its_times() -> None:
    """The hub runs on the hall day's clock: its times are hall times at any speed."""
    base: dict[str, Any] = {
        "workdir": Path("/tmp"),
        "kept": False,
        "elapsed_s": 1.0,
        "events": 1,
        "by_type": {"rating.submitted": 1},
        "by_device": {},
        "by_source": {},
        "seq": SeqReport(1, 1, 1, 0, (), 0),
        "replies": {},
        "commands_sent": 0,
        "alerts": 0,
        "metrics": {},
        "journal_last_seq": 1,
        "devices": {},
    }
    for speed in (1, 120):
        warnings = DemoResult(**base, speed=speed).warnings()
        assert not [w for w in warnings if "real seconds" in w or w.startswith("times:")]
