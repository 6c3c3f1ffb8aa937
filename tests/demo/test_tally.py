"""CloudTally: what the cloud watcher counts from the hall's topics."""

from __future__ import annotations

import json
from typing import Any

from edge.demo.tally import CloudTally

HALL = "h1"


def envelope(
    seq: int, etype: str = "counter.action", device: str = "caller-1", **data: Any
) -> bytes:
    return json.dumps(
        {
            "id": f"id-{seq}",
            "type": etype,
            "deviceid": device,
            "hallseq": seq,
            "time": "2026-11-27T09:31:05.123+08:00",
            "data": data,
        }
    ).encode()


def feed(t: CloudTally, topic: str, payload: bytes, now: float = 100.0) -> None:
    t.on_message(f"halls/{HALL}/{topic}", payload, now)


def test_gaps_and_duplicates_are_found() -> None:
    t = CloudTally(HALL)
    for seq in (1, 2, 3, 5, 6, 9):
        feed(t, "events/counter/action", envelope(seq))
    feed(t, "events/counter/action", envelope(3))  # the same envelope again
    report = t.seq_report()
    assert (report.first, report.last, report.distinct) == (1, 9, 6)
    assert report.missing == 3 and report.gaps == ((4, 4), (7, 8))
    assert report.duplicates == 1
    assert t.max_seq() == 9
    snap = t.snapshot(100.0)
    assert snap.events == 6 and snap.by_type == {"counter.action": 6}


def test_no_gaps_when_everything_arrives_out_of_order() -> None:
    t = CloudTally(HALL)
    for seq in (3, 1, 2, 4):
        feed(t, "events/x", envelope(seq))
    report = t.seq_report()
    assert report.missing == 0 and report.gaps == () and report.first == 1 and report.last == 4


def test_rate_counts_only_the_last_seconds() -> None:
    t = CloudTally(HALL)
    for i in range(5):
        feed(t, "events/x", envelope(i + 1), now=90.0 + i)  # long ago
    for i in range(10):
        feed(t, "events/x", envelope(i + 6), now=100.0 + i * 0.1)  # 10 events in 1 s
    assert t.snapshot(101.0).rate == 10 / 5.0
    assert t.snapshot(200.0).rate == 0.0
    assert t.snapshot(200.0).events == 15


def test_queue_counters_alerts_replies_and_states() -> None:
    t = CloudTally(HALL)
    feed(t, "state", b'{"state": "online"}')
    feed(t, "devices/pad-1/state", b'{"state": "offline"}')
    feed(t, "events/queue/status", envelope(5, "queue.status", "hub", service="payment", waiting=4))
    # The retained copy of an older status arrives after the newer event: it must not win.
    feed(
        t,
        "queue/status/payment",
        json.dumps({"service": "payment", "waiting": 9, "hallseq": 2}).encode(),
    )
    feed(
        t,
        "events/queue/ticket/called",
        envelope(6, "queue.ticket.called", "hub", ticket_no="A001", counter=2),
    )
    feed(
        t,
        "events/alert/raised",
        envelope(7, "alert.raised", "hub", severity="warning", message="差评"),
    )
    feed(t, "events/rating/submitted", envelope(8, "rating.submitted", "pad-2", counter=2, level=2))
    feed(t, "replies/hub", b'{"cmd_id": "c1", "code": 202, "msg": "accepted"}')
    feed(t, "replies/printer-1", b'{"cmd_id": "c2", "code": 200, "msg": "ok"}')
    feed(t, "events/x", b"not json")
    feed(t, "state", b"")  # a retained message being cleared: ignored
    t.on_message("halls/other-hall/events/x", envelope(99), 1.0)  # another hall: ignored
    snap = t.snapshot(100.0)
    assert snap.hub_state == "online" and snap.devices == {"pad-1": "offline"}
    assert snap.queue["payment"]["waiting"] == 4
    assert snap.counters[2].ticket == "A001" and snap.counters[2].state == "open"
    assert snap.alerts_total == 1 and "差评" in snap.alerts[0].text
    assert snap.ratings == {2: 1}
    assert snap.replies == {202: 1, 200: 1}
    assert snap.unreadable == 1
    assert snap.events == 4 and snap.seq.first == 5
    assert snap.by_source[("pad-2", "rating.submitted")] == 1
    assert [e.seq for e in snap.recent] == [5, 6, 7, 8]


def test_odd_payloads_are_counted_not_fatal() -> None:
    t = CloudTally(HALL)
    feed(t, "queue/status/payment", b'{"service": "payment", "waiting": 1, "hallseq": "x"}')
    feed(t, "replies/hub", b'{"cmd_id": "c1", "code": "ok"}')
    feed(t, "events/x", b'{"type": "x", "hallseq": "7", "data": []}')
    feed(t, "events/x", b"[1, 2]")
    snap = t.snapshot(100.0)
    assert snap.queue["payment"]["waiting"] == 1
    assert snap.unreadable == 3 and snap.events == 0
