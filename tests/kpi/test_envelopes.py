"""Events from a JSON-lines file of envelopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from edge.errors import PayloadError
from edge.kpi.envelopes import load_envelopes, parse_envelopes, reader_over

LINE = (
    '{"specversion": "1.0", "id": "01J", "type": "rating.submitted",'
    ' "source": "/halls/h1/devices/p1", "time": "2026-11-27T09:31:05.123+08:00",'
    ' "hallid": "h1", "deviceid": "p1", "hallseq": 18233,'
    ' "resent": true, "data": {"rating_id": "R1", "counter": "3", "level": 5}}'
)


def test_an_envelope_becomes_a_journaled_event() -> None:
    (event,) = list(parse_envelopes([LINE, "", "  "]))
    assert (event.seq, event.id, event.type, event.device_id) == (
        18233,
        "01J",
        "rating.submitted",
        "p1",
    )
    assert event.time == datetime(
        2026, 11, 27, 9, 31, 5, 123000, tzinfo=timezone(timedelta(hours=8))
    )
    assert event.data == {"rating_id": "R1", "counter": "3", "level": 5}


def test_a_bad_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(LINE + "\n" + '{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(PayloadError, match=r"events\.jsonl:2"):
        load_envelopes(path)
    with pytest.raises(PayloadError, match="cannot read"):
        load_envelopes(tmp_path / "missing.jsonl")


def test_reader_over_is_half_open_by_event_time_and_filters_types() -> None:
    (event,) = list(parse_envelopes([LINE]))
    read = reader_over([event])
    t = event.time
    assert read(t, t + timedelta(seconds=1), ["rating.submitted"]) == [event]
    assert read(t - timedelta(seconds=1), t, ["rating.submitted"]) == []
    assert read(t, t + timedelta(seconds=1), ["kiosk.payment"]) == []
    assert read(t.astimezone(UTC), t + timedelta(hours=1), ("rating.submitted",)) == [event]
