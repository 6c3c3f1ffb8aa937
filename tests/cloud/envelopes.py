"""Envelopes as a hub makes them (edge.envelope), for tests that play a hall."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from edge import envelope
from edge.model import EventIds

_ids = EventIds()
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def event(
    hall: str,
    seq: int,
    *,
    journal: str = "J1",
    etype: str = "rating.submitted",
    device: str = "pad-1",
    data: dict[str, Any] | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
    resent: bool = False,
) -> tuple[str, bytes]:
    """(topic, payload) of one event of `hall` numbered `seq` in `journal`."""
    body = envelope.encode(
        hall_id=hall,
        seq=seq,
        event_id=event_id or _ids.new(),
        event_type=etype,
        device_id=device,
        time=time or T0 + timedelta(seconds=seq),
        tz=UTC,
        data=data if data is not None else {"level": 5, "counter": 1},
        journal=journal,
    )
    if resent:
        body = envelope.mark_resent(body)
    return f"halls/{hall}/events/{etype.replace('.', '/')}", body
