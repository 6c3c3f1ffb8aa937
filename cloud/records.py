"""What one message from the cloud broker becomes: a row for PostgreSQL or a dead letter.

Pure functions of (topic, payload): no I/O, so every bad input has a unit test and the
sink's transaction only ever sees values PostgreSQL accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()
STATES = ("online", "offline")


@dataclass(frozen=True, slots=True)
class EventRow:
    hallid: str
    halljournal: str  # "" for hubs older than the field
    id: str
    hallseq: int
    type: str
    time: datetime
    deviceid: str
    resent: bool
    data: str  # the JSON text of the envelope's data, for jsonb


@dataclass(frozen=True, slots=True)
class HallState:
    hallid: str
    state: str
    version: str | None
    since: datetime | None
    payload: str


@dataclass(frozen=True, slots=True)
class DeviceState:
    hallid: str
    deviceid: str
    state: str
    since: datetime | None
    payload: str


@dataclass(frozen=True, slots=True)
class ReplyRow:
    hallid: str
    deviceid: str
    cmd_id: str
    code: int
    msg: str
    data: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    payload: bytes
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """A message that needs no row: a retained state cleared by an empty payload."""

    topic: str


Record = EventRow | HallState | DeviceState | ReplyRow | DeadLetter | Ignored


class _BadError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail


def _object(payload: bytes) -> dict[str, Any]:
    try:
        body = _decoder.decode(payload)
    except msgspec.DecodeError as exc:
        raise _BadError("invalid_json", str(exc)) from None
    if not isinstance(body, dict):
        raise _BadError("not_an_object", f"a JSON {type(body).__name__}")
    return body


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _BadError("missing_hallid" if key == "hallid" else "missing_field", key)
        return None
    if not isinstance(value, str) or not value:
        raise _BadError("bad_field", f"{key}: expected a non-empty string, got {value!r:.60}")
    return value


def _time(body: dict[str, Any], key: str, *, required: bool) -> datetime | None:
    raw = _text(body, key, required=required)
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise _BadError("bad_field", f"{key}: expected RFC 3339, got {raw!r:.60}") from None
    if when.tzinfo is None:
        raise _BadError("bad_field", f"{key}: expected a UTC offset, got {raw!r:.60}")
    return when


def parse(
    topic: str, payload: bytes, *, max_bytes: int, halls: frozenset[str] | None = None
) -> Record:
    """The record for one message; anything that cannot be stored is a DeadLetter."""
    try:
        return _parse(topic, payload, max_bytes, halls)
    except _BadError as bad:
        return DeadLetter(topic, payload, bad.reason, bad.detail)


def _parse(topic: str, payload: bytes, max_bytes: int, halls: frozenset[str] | None) -> Record:
    if len(payload) > max_bytes:
        raise _BadError("too_large", f"{len(payload)} bytes > {max_bytes}")
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != "halls" or not parts[1]:
        raise _BadError("bad_topic", "expected halls/{hall}/...")
    hall, kind = parts[1], parts[2]
    if halls is not None and hall not in halls:
        raise _BadError("unknown_hall", hall)
    if kind == "events" and len(parts) >= 4 and all(parts[3:]):
        return _event(hall, ".".join(parts[3:]), payload)
    if kind == "state" and len(parts) == 3:
        if not payload:
            return Ignored(topic)
        body = _state(payload)
        version = body.get("version")
        return HallState(
            hall,
            body["state"],
            version if isinstance(version, str) else None,
            _time(body, "since", required=False),
            _encoder.encode(body).decode(),
        )
    if kind == "devices" and len(parts) == 5 and parts[3] and parts[4] == "state":
        if not payload:
            return Ignored(topic)
        body = _state(payload)
        since = _time(body, "since", required=False)
        return DeviceState(hall, parts[3], body["state"], since, _encoder.encode(body).decode())
    if kind == "replies" and len(parts) == 4 and parts[3]:
        return _reply(hall, parts[3], payload)
    raise _BadError("bad_topic", "not an events, state, device state or replies topic")


def _nul_free(payload: bytes) -> None:
    # PostgreSQL's text and jsonb cannot hold U+0000: such a message could never commit.
    if b"\\u0000" in payload:
        raise _BadError("bad_field", "a \\u0000 character (PostgreSQL text cannot hold it)")


def _event(hall: str, topic_type: str, payload: bytes) -> EventRow:
    _nul_free(payload)
    body = _object(payload)
    hallid = _text(body, "hallid")
    if hallid != hall:
        raise _BadError("hall_mismatch", f"topic hall {hall!r}, envelope hallid {hallid!r:.60}")
    event_id = _text(body, "id")
    event_type = _text(body, "type")
    if event_type != topic_type:
        raise _BadError("bad_topic", f"topic type {topic_type!r}, envelope type {event_type!r:.60}")
    seq = body.get("hallseq")
    if seq is None:
        raise _BadError("missing_field", "hallseq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq < 1 << 63:
        raise _BadError("bad_field", f"hallseq: expected an integer >= 1, got {seq!r:.60}")
    when = _time(body, "time", required=True)
    assert when is not None
    deviceid = _text(body, "deviceid")
    journal = _text(body, "halljournal", required=False) or ""
    resent = body.get("resent", False)
    if not isinstance(resent, bool):
        raise _BadError("bad_field", f"resent: expected true or false, got {resent!r:.60}")
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise _BadError("bad_field", f"data: expected an object, got {type(data).__name__}")
    assert hallid is not None and event_id is not None and event_type is not None
    assert deviceid is not None
    return EventRow(
        hallid,
        journal,
        event_id,
        seq,
        event_type,
        when,
        deviceid,
        resent,
        _encoder.encode(data).decode(),
    )


def _state(payload: bytes) -> dict[str, Any]:
    _nul_free(payload)
    body = _object(payload)
    if body.get("state") not in STATES:
        raise _BadError(
            "bad_field", f"state: expected online or offline, got {body.get('state')!r:.60}"
        )
    return body


def _reply(hall: str, device: str, payload: bytes) -> ReplyRow:
    _nul_free(payload)
    body = _object(payload)
    cmd_id = _text(body, "cmd_id")
    code = body.get("code")
    if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
        raise _BadError("bad_field", f"code: expected an integer 100-599, got {code!r:.60}")
    msg = body.get("msg", "")
    data = body.get("data", {})
    assert cmd_id is not None
    return ReplyRow(
        hall,
        device,
        cmd_id,
        code,
        msg if isinstance(msg, str) else str(msg),
        _encoder.encode(data if isinstance(data, dict) else {"value": data}).decode(),
    )
