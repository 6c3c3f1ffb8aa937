"""Plain typed structures that flow through the hub: events, commands, replies. No I/O."""

from __future__ import annotations

import base64
import os
import time as _time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

HUB_DEVICE = "hub"

# Reply codes of the external contract (docs/contract.md §6).
DONE = 200
ACCEPTED = 202
BAD_ARGS = 400
NOT_FOUND = 404
TIMEOUT = 408
DEVICE_ERROR = 500
OFFLINE = 503

# Status-like events may be dropped from a full spool; everything else is business and is
# never dropped. Unknown types count as business so that a new event kind is safe by default.
_STATUS_TYPES = frozenset(
    {"footfall.counted", "device.online", "device.offline", "robot.task", "queue.status"}
)


def is_status_like(event_type: str) -> bool:
    """True for events a full spool may drop (docs/contract.md §7: never business events)."""
    return event_type in _STATUS_TYPES or event_type.endswith(".status")


def type_to_path(event_type: str) -> str:
    """`rating.submitted` -> `rating/submitted`."""
    return event_type.replace(".", "/")


def path_to_type(path: str) -> str:
    """`rating/submitted` -> `rating.submitted`."""
    return path.strip("/").replace("/", ".")


# RFC 4648 base32 digits mapped onto Crockford's, which sort in the order of their values.
_TO_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)


def _ulid_text(value: int) -> str:
    # 160 bits give 32 base32 digits; the last 26 hold the 128-bit value (top digit <= 7).
    return base64.b32encode(value.to_bytes(20, "big")).translate(_TO_CROCKFORD)[6:].decode()


# The last two digits of an id (its low 10 bits), by value: ids made in one millisecond
# differ only there, bar a carry every 1,024.
_LAST_TWO = tuple(
    a + b for a in "0123456789ABCDEFGHJKMNPQRSTVWXYZ" for b in "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)


class EventIds:
    """Sortable unique ids (ULID layout: 48-bit ms time + 80-bit counter/random).

    Within one millisecond the random part is incremented so ids stay strictly increasing
    in the order they are made, which is the journal order.
    """

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_rand = 0
        # The first 24 digits of the last id and the value (id >> 10) they spell: a batch's
        # ids share them, so each id costs a lookup and a join, not a base32 encoding
        # (which was 5 % of the hub's time in a burst).
        self._head_of = -1
        self._head = ""

    def new(self, now_ms: int | None = None) -> str:
        ms = int(_time.time() * 1000) if now_ms is None else now_ms
        if ms <= self._last_ms:
            ms = self._last_ms
            rand = self._last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
        self._last_ms, self._last_rand = ms, rand
        value = (ms << 80) | rand
        high = value >> 10
        if high != self._head_of:
            self._head_of = high
            self._head = _ulid_text(value)[:24]
        return self._head + _LAST_TWO[value & 1023]


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened in the hall, before it is journaled."""

    type: str
    device_id: str
    data: Mapping[str, Any]
    time: datetime | None = None  # when it happened (device time if the device sent one)
    source_id: str | None = None  # device-side unique id, used to drop duplicates
    causation: int | None = None  # hallseq of the event this one was derived from


@dataclass(frozen=True, slots=True)
class JournaledEvent:
    """An event committed to the journal: it has its hall sequence number and envelope id."""

    seq: int
    id: str
    type: str
    device_id: str
    time: datetime
    data: Mapping[str, Any]
    causation: int | None = None
    replayed: bool = False  # True when fed again from the journal after a restart


@dataclass(frozen=True, slots=True)
class Command:
    """A command for a device (or for the hub itself when device_id is `hub`)."""

    device_id: str
    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    cmd_id: str = ""
    deadline: datetime | None = None
    origin: str = "hub"  # "cloud" for commands that came from the cloud, else the service


@dataclass(frozen=True, slots=True)
class Reply:
    cmd_id: str
    code: int
    msg: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"cmd_id": self.cmd_id, "code": self.code, "msg": self.msg, "data": dict(self.data)}


# What a service fed by journaled events may ask the hub to do.
Output = Event | Command


class Service(Protocol):
    """A part of the hub fed by journaled events (queue manager, KPIs, faces, rules).

    It never does I/O towards devices or the cloud itself: it returns events to journal and
    commands to send, and the hub carries them out. `tick` is called about once a second
    for timers (rating time-outs, daily reports).
    """

    name: str

    def handle(self, event: JournaledEvent) -> Sequence[Output]: ...

    def tick(self, now: datetime) -> Sequence[Output]: ...
