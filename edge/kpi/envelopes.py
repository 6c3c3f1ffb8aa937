"""Events from a file of envelopes (JSON lines), for reports outside the hub.

A file of CloudEvents envelopes as the hub publishes them (one per line, docs/contract.md
§3) can be reported on like the journal: an export, or what the cloud received.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from edge.errors import PayloadError
from edge.kpi.periods import as_aware
from edge.kpi.service import ReadEvents
from edge.model import JournaledEvent


class _Envelope(msgspec.Struct):
    id: str
    type: str
    time: datetime
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    deviceid: str = ""
    hallseq: int = 0


_decode = msgspec.json.Decoder(_Envelope).decode


def parse_envelopes(
    lines: Iterable[bytes | str], source: str = "<lines>"
) -> Iterator[JournaledEvent]:
    """Turn envelope lines into journaled events; blank lines are skipped.

    Raises PayloadError naming the source and line of the first envelope that is not one.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            env = _decode(line)
        except msgspec.DecodeError as exc:
            raise PayloadError("not an event envelope", f"{source}:{number}: {exc}") from None
        yield JournaledEvent(
            seq=env.hallseq,
            id=env.id,
            type=env.type,
            device_id=env.deviceid,
            time=as_aware(env.time),
            data=env.data,
        )


def load_envelopes(path: str | Path) -> list[JournaledEvent]:
    """Every event of a JSON-lines file of envelopes."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return list(parse_envelopes(fh, str(p)))
    except OSError as exc:
        raise PayloadError("cannot read the events file", f"{p}: {exc.strerror}") from None


def reader_over(events: Sequence[JournaledEvent]) -> ReadEvents:
    """A journal reader over events in memory: event time in [start, end), of the types."""

    def read(start: datetime, end: datetime, types: Sequence[str]) -> list[JournaledEvent]:
        wanted = frozenset(types)
        return [e for e in events if e.type in wanted and start <= e.time < end]

    return read
