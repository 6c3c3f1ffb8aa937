"""The generic MQTT device convention of the contract (profile `generic-mqtt`).

`hall/devices/{device_id}/events/{type as path}` carries a JSON object: the event data,
with an optional device-side `id` (drops duplicates) and `time` (RFC 3339).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from edge.drivers.json_input import decode_json
from edge.errors import PayloadError, shown
from edge.limits import MAX_ID_CHARS, time_in_range, type_path_problem
from edge.model import Event, path_to_type

PREFIX = "hall/devices/"
EVENTS_FILTER = "hall/devices/+/events/#"
STATE_FILTER = "hall/devices/+/state"
REPLIES_FILTER = "hall/devices/+/replies"

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
    obj = decode_json(payload, INVALID_JSON)
    if not isinstance(obj, dict):
        raise PayloadError(NOT_AN_OBJECT, f"a JSON {type(obj).__name__}")
    return obj


def parse_time(value: object, tz: tzinfo) -> datetime:
    if not isinstance(value, str):
        raise PayloadError(BAD_FIELD, f"time must be an RFC 3339 string, not {shown(value)}")
    try:
        t = datetime.fromisoformat(value)
        # A device clock without an offset is taken as hall time, the only sensible reading.
        t = t.replace(tzinfo=tz) if t.tzinfo is None else t.astimezone(UTC)
    except (ValueError, OverflowError):
        # OverflowError: an offset that moves the time past year 1 or 9999.
        raise PayloadError(BAD_FIELD, f"time is not RFC 3339: {value[:64]!r}") from None
    if not time_in_range(t):
        raise PayloadError(BAD_FIELD, f"time out of range (years 1970-2199): {value[:64]!r}")
    return t


# Type paths already checked, with their event type: a hall has a few dozen, and the
# character-by-character check cost more than the JSON decode of a whole event.
_TYPES: dict[str, str] = {}
_TYPES_MAX = 1024


def event_type_of(type_path: str) -> str:
    """`rating/submitted` -> `rating.submitted`, or PayloadError(BAD_TOPIC) for a bad path."""
    etype = _TYPES.get(type_path)
    if etype is not None:
        return etype
    problem = type_path_problem(type_path)
    if problem is not None:
        raise PayloadError(BAD_TOPIC, problem)
    if len(_TYPES) >= _TYPES_MAX:
        _TYPES.clear()  # a device inventing types must not grow this without bound
    etype = _TYPES[type_path] = path_to_type(type_path)
    return etype


def decode_event(
    device_id: str, type_path: str, payload: bytes, max_bytes: int, tz: tzinfo
) -> Event:
    """One device message of the generic convention -> Event (or PayloadError with a reason)."""
    etype = event_type_of(type_path)
    data = decode_object(payload, max_bytes)
    source_id = data.pop("id", None)
    if source_id is not None:
        if isinstance(source_id, bool) or not isinstance(source_id, str | int):
            raise PayloadError(BAD_FIELD, f"id must be a string or integer, not {shown(source_id)}")
        source_id = str(source_id)
        if len(source_id) > MAX_ID_CHARS:
            raise PayloadError(BAD_FIELD, f"id longer than {MAX_ID_CHARS} characters")
    when = None
    if "time" in data:
        when = parse_time(data.pop("time"), tz)
    return Event(etype, device_id, data, when, source_id)


def decode_state(payload: bytes) -> bool:
    """`{"state": "online"}` -> True; anything else that is not "offline" is an error."""
    obj = decode_object(payload, 4096)
    state = obj.get("state")
    if state not in ("online", "offline"):
        raise PayloadError(BAD_FIELD, f"state must be 'online' or 'offline', not {shown(state)}")
    return bool(state == "online")
