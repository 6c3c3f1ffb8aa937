"""Dry runs: test events parsed from JSON, a simulated clock, nothing kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from edge.errors import PayloadError
from edge.rules.dryrun import dry_run, parse_test_event, parse_test_events
from edge.rules.loader import load_ruleset
from tests.rules.helpers import T0, TZ


def test_parse_accepts_our_names_and_the_envelope_names() -> None:
    ev = parse_test_event(
        {
            "type": "rating.submitted",
            "deviceid": "pad-3",
            "hallseq": 41,
            "time": "2026-11-27T01:00:00Z",
            "data": {"level": 2},
        },
        seq=1,
        default_time=T0,
    )
    assert (ev.seq, ev.device_id, ev.time.hour, ev.data) == (41, "pad-3", 1, {"level": 2})
    events = parse_test_events([{"type": "a"}, {"type": "b", "seq": 10}, {"type": "c"}], T0)
    assert [e.seq for e in events] == [1, 10, 11]
    assert events[1].time - events[0].time == timedelta(seconds=1)


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"data": {}},
        {"type": "x", "data": []},
        {"type": "x", "time": "yesterday"},
        {"type": "x", "time": "2026-11-27T09:00:00"},
    ],
)
def test_parse_rejects_bad_events(bad: object) -> None:
    with pytest.raises(PayloadError):
        parse_test_event(bad, 1, T0)


def test_dry_run_ticks_between_events_by_their_own_time() -> None:
    rs = load_ruleset([], {"offline_min": 5}, builtin=True)
    events = parse_test_events(
        [
            {"type": "device.offline", "device_id": "pad-1", "time": T0.isoformat()},
            {"type": "kiosk.payment", "time": (T0 + timedelta(minutes=6)).isoformat()},
        ],
        T0,
    )
    steps = dry_run(rs, events, TZ)
    kinds = [(s.event.type if s.event else "tick") for s in steps]
    assert kinds == ["device.offline", "tick", "kiosk.payment"]
    tick = steps[1]
    assert tick.firings[0][0] == "device-offline"
    assert tick.firings[0][1]["at"] == "2026-11-27T09:06:00+08:00"
    assert "pad-1" in tick.outputs[0].data["message"]  # type: ignore[union-attr]
