"""The CloudEvents 1.0 envelope of the external contract (docs/contract.md §3)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_RESENT = b'{"resent":true,'
# The last time formatted: the events of a batch mostly share one (their arrival).
_last: tuple[datetime, tzinfo, str] | None = None


def rfc3339(t: datetime, tz: tzinfo) -> str:
    """RFC 3339 with milliseconds and the hall's offset: 2026-11-27T09:31:05.123+08:00.

    Total: a time so close to the ends of the calendar that the hall's offset would carry
    it past them (decoders refuse such times; a bug must not stop the journal) stays in UTC.
    """
    global _last  # a one-entry cache
    last = _last
    if last is not None and last[1] is tz and last[0] == t:
        return last[2]
    try:
        text = t.astimezone(tz).isoformat(timespec="milliseconds")
    except OverflowError:
        text = t.astimezone(UTC).isoformat(timespec="milliseconds")
    _last = (t, tz, text)
    return text


def encode(
    *,
    hall_id: str,
    seq: int,
    event_id: str,
    event_type: str,
    device_id: str,
    time: datetime,
    tz: tzinfo,
    data: Mapping[str, Any],
    journal: str | None = None,
) -> bytes:
    """The envelope as stored in the journal; `data` comes last so `mark_resent` stays cheap.

    `journal` is the journal's identity (`halljournal`): `hallseq` counts within it.
    """
    env: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "type": event_type,
        "source": f"/halls/{hall_id}/devices/{device_id}",
        "time": rfc3339(time, tz),
        "datacontenttype": "application/json",
        "hallid": hall_id,
    }
    if journal is not None:
        env["halljournal"] = journal
    env |= {"deviceid": device_id, "hallseq": seq, "data": data}
    return _encoder.encode(env)


def mark_resent(envelope: bytes) -> bytes:
    """The same envelope with `"resent": true`, for events delivered from the backlog."""
    return _RESENT + envelope[1:]


def decode(envelope: bytes) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.json.decode(envelope)
    return out
