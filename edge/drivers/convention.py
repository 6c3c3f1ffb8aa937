"""The generic MQTT device convention of the contract (profile `generic-mqtt`).

`hall/devices/{device_id}/events/{type as path}` carries a JSON object: the event data,
with an optional device-side `id` (drops duplicates) and `time` (RFC 3339).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

import msgspec

from edge.errors import PayloadError
from edge.model import Event, path_to_type

PREFIX = "hall/devices/"
EVENTS_FILTER = "hall/devices/+/events/#"
STATE_FILTER = "hall/devices/+/state"
REPLIES_FILTER = "hall/devices/+/replies"

_decoder = msgspec.json.Decoder()

# Dead-letter reasons, stable strings an operator can filter on.
INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
UNKNOWN_DEVICE = "unknown_device"
TOO_LARGE = "too_large"
BAD_TOPIC = "bad_topic"
BAD_FIELD = "bad_field"


def split_topic(topic: str) -> tuple[str, str, str]:
    """`hall/devices/pad-1/events/rating/submitted` -> ("pad-1", "events", "rating/submitted")."""
    if not topic.startswith(PREFIX):
        raise PayloadError(BAD_TOPIC, topic)
    rest = topic[len(PREFIX) :]
    device_id, _, tail = rest.partition("/")
    kind, _, path = tail.partition("/")
    if not device_id or not kind:
        raise PayloadError(BAD_TOPIC, topic)
    return device_id, kind, path


def decode_object(payload: bytes, max_bytes: int) -> dict[str, Any]:
    if len(payload) > max_bytes:
        raise PayloadError(TOO_LARGE, f"{len(payload)} bytes, limit {max_bytes}")
    try:
        obj = _decoder.decode(payload)
    except msgspec.DecodeError as exc:
        raise PayloadError(INVALID_JSON, str(exc)) from None
    if not isinstance(obj, dict):
        raise PayloadError(NOT_AN_OBJECT, f"a JSON {type(obj).__name__}")
    return obj


def parse_time(value: object, tz: tzinfo) -> datetime:
    if not isinstance(value, str):
        raise PayloadError(BAD_FIELD, f"time must be an RFC 3339 string, not {value!r}")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(BAD_FIELD, f"time is not RFC 3339: {value!r}") from None
    # A device clock without an offset is taken as hall time, the only sensible reading.
    return t.replace(tzinfo=tz) if t.tzinfo is None else t.astimezone(UTC)


def decode_event(
    device_id: str, type_path: str, payload: bytes, max_bytes: int, tz: tzinfo
) -> Event:
    """One device message of the generic convention -> Event (or PayloadError with a reason)."""
    if not type_path or "//" in type_path or type_path.endswith("/"):
        raise PayloadError(BAD_TOPIC, f"event type path {type_path!r}")
    data = decode_object(payload, max_bytes)
    source_id = data.pop("id", None)
    if source_id is not None:
        if isinstance(source_id, bool) or not isinstance(source_id, str | int):
            raise PayloadError(BAD_FIELD, f"id must be a string or integer, not {source_id!r}")
        source_id = str(source_id)
    when = None
    if "time" in data:
        when = parse_time(data.pop("time"), tz)
    return Event(path_to_type(type_path), device_id, data, when, source_id)


def decode_state(payload: bytes) -> bool:
    """`{"state": "online"}` -> True; anything else that is not "offline" is an error."""
    obj = decode_object(payload, 4096)
    state = obj.get("state")
    if state not in ("online", "offline"):
        raise PayloadError(BAD_FIELD, f"state must be 'online' or 'offline', not {state!r}")
    return bool(state == "online")
