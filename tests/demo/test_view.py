"""The dashboard, the progress line, the short event texts."""

from __future__ import annotations

import io
import json

from rich.console import Console

from edge.demo.describe import MAX_TEXT, describe
from edge.demo.tally import CloudTally
from edge.demo.view import DemoStatus, dashboard, progress_line, replies_text, seq_text

METRICS = {
    "journaled": 12,
    "pending": 0,
    "backlog": 3,
    "dead_letters": 0,
    "duplicates": 0,
    "last_seq": 12,
    "cloud": {"connected": True, "acked": 9, "in_flight": 2, "rate": 4.5},
    "hall": {"connected": True, "received": 20},
    "replies": {"200": 4},
}
STATUS = DemoStatus("演示营业厅", "h1", 120.0, 75.0, "10:42", "running", duration_s=120.0)


def tally() -> CloudTally:
    t = CloudTally("h1")
    events = [
        ("queue.ticket.called", "hub", {"ticket_no": "A012", "counter": 3}),
        ("rating.submitted", "pad-3", {"counter": 3, "level": 1}),
        ("alert.raised", "hub", {"severity": "warning", "message": "3号窗口收到不满意评价"}),
        (
            "queue.status",
            "hub",
            {
                "service": "payment",
                "waiting": 12,
                "longest_wait_s": 40,
                "open_counters": 2,
                "est_wait_min": 6.0,
            },
        ),
    ]
    for seq, (etype, device, data) in enumerate(events, start=1):
        env = {
            "id": str(seq),
            "type": etype,
            "deviceid": device,
            "hallseq": seq,
            "time": "2026-11-27T10:42:01.000+08:00",
            "data": data,
        }
        t.on_message(f"halls/h1/events/{etype.replace('.', '/')}", json.dumps(env).encode(), 1.0)
    t.on_message("halls/h1/replies/hub", b'{"cmd_id": "c", "code": 202, "msg": "accepted"}', 1.0)
    return t


def test_dashboard_shows_the_cloud_the_hub_the_queue_and_alerts() -> None:
    console = Console(width=160, height=50, record=True, file=io.StringIO())
    console.print(dashboard(tally().snapshot(2.0), METRICS, STATUS, height=50))
    screen = console.export_text()
    for text in (
        "演示营业厅",
        "simulated day 10:42",
        "1–4, no gaps",
        "请A012号到3号窗口",
        "3号窗口收到不满意评价",
        "缴费",
        "202×1",
        "200×4",
        "3号窗口",
        "journaled",
        "3 to deliver, 2 in flight",
        "alerts (1)",
    ):
        assert text in screen, text
    assert len(screen.splitlines()) <= 50
    # Data text is never taken for markup: the severity stays in the last-events list.
    assert "[warning] 3号窗口收到不满意评价" in screen


def test_progress_line_is_one_line_with_the_key_figures() -> None:
    line = progress_line(tally().snapshot(2.0), METRICS, STATUS)
    assert "\n" not in line
    for text in (
        "1m15s",
        "hall 10:42",
        "cloud 4 events",
        "no gaps",
        "outbox 3",
        "alerts 1",
        "replies 202×1",
    ):
        assert text in line, text


def test_texts_for_seq_and_replies() -> None:
    assert replies_text({}) == "none"
    assert replies_text({"404": 1, "200": 3}) == "200×3 404×1"
    t = CloudTally("h1")
    assert seq_text(t.seq_report()) == "none yet"


def test_describe_is_short_and_survives_odd_data() -> None:
    assert describe("rating.submitted", {"counter": 3, "level": 5}) == "3号窗口 ★★★★★ 非常满意"
    assert describe("kiosk.payment", {"amount_cents": 12345, "channel": "wechat"}).startswith(
        "¥123.45"
    )
    assert describe("kiosk.payment", {"amount_cents": "x"}).startswith("¥?")
    assert (
        len(describe("feedback.submitted", {"category": "praise", "text": "好" * 200})) == MAX_TEXT
    )
    assert describe("something.new", {"a": 1, "nested": {"b": 2}}) == "a=1"
    assert describe("x", None) == ""
