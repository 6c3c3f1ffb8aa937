"""What the hub accepts from any device or client, so that everything journaled can be sent.

Every bound here is checked before the journal (docs/contract.md §1, "Limits"): a message
past one is a dead letter with a reason, never an event the uplink later cannot carry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Event times. Outside these years a device clock is not wrong but broken (corrupt memory, a
# garbled field): refused with a dead letter. A flat RTC battery's 1970 or 2000 is still
# accepted, so a hall never loses a business event to a clock reset. The ends also keep the
# hall-time shift of the envelope (up to ±14 h) and every consumer's timestamp type (epoch
# milliseconds, PostgreSQL's timestamptz) far from their limits.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

# An event type is at most this many bytes: its cloud topic `halls/{hall}/events/{type}`
# must stay far below MQTT's 65,535-byte topic limit, and types are names, not data.
MAX_TYPE_BYTES = 128
# A device's own event id (`id`) and a device or hall id.
MAX_ID_CHARS = 128
MAX_DEVICE_ID_CHARS = 64
# JSON nesting: event data of real devices is two or three levels deep; deeper is an attack
# on the recursion of every JSON library between here and the cloud.
MAX_DEPTH = 32


def time_in_range(t: datetime) -> bool:
    """True when `t` (timezone-aware) lies between EARLIEST and LATEST."""
    try:
        return EARLIEST <= t < LATEST
    except TypeError:  # a naive datetime: never produced by the decoders, refused anyway
        return False


def type_path_problem(path: str) -> str | None:
    """Why an event type path (`rating/submitted`) is unacceptable, or None if it is fine."""
    if not path:
        return "empty event type"
    if len(path.encode("utf-8", "surrogatepass")) > MAX_TYPE_BYTES:
        return f"event type longer than {MAX_TYPE_BYTES} bytes"
    for part in path.split("/"):
        if not part:
            return f"empty segment in event type path {path!r}"
        if not all(c.isascii() and (c.isalnum() or c in "_-") for c in part):
            return f"event type segment {part[:40]!r} is not letters, digits, _ or -"
    return None


def depth_exceeds(obj: Any, limit: int = MAX_DEPTH) -> bool:
    """True when lists/objects nest deeper than `limit` (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, Mapping | list))
    return False


def finite(value: float) -> bool:
    return math.isfinite(value)
