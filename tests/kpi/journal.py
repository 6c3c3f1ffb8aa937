"""The hub's real journal (edge.store) in a temp dir, doing the hub's part for the KPI service:
it journals events, reads them back by event-time range and type, and records the reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from edge.model import Event, JournaledEvent, Output
from edge.sim.month import SHANGHAI
from edge.store import Journal, JournalReader


def as_new_events(events: Iterable[JournaledEvent]) -> list[Event]:
    """Generated events as a device would hand them in (one per envelope id)."""
    seen: set[str] = set()
    out: list[Event] = []
    for e in events:
        if e.id not in seen:  # the hub drops a device's repeated id before journaling
            seen.add(e.id)
            out.append(Event(e.type, e.device_id, dict(e.data), time=e.time))
    return out


class HubJournal:
    """A journal file plus a reader on it; `reads` lists every read the service made."""

    def __init__(self, path: Path, hall_id: str = "h1") -> None:
        self.path = path
        self.journal = Journal(path, hall_id, SHANGHAI, synchronous="normal")
        self.reader = JournalReader(path)
        self.reads: list[tuple[datetime, datetime, tuple[str, ...]]] = []

    def close(self) -> None:
        self.reader.close()
        self.journal.close()

    def append(self, events: Sequence[Event]) -> list[JournaledEvent]:
        return [w.event for w in self.journal.write_batch(events).written]

    def publish(self, outputs: Sequence[Output]) -> list[JournaledEvent]:
        """The hub's part for what a service emitted: journal its events."""
        events = [o for o in outputs if isinstance(o, Event)]
        assert len(events) == len(outputs)  # the KPI service emits events only
        return self.append(events)

    def read_events(
        self, start: datetime, end: datetime, types: Sequence[str]
    ) -> list[JournaledEvent]:
        self.reads.append((start, end, tuple(types)))
        return list(self.reader.events(start, end, types))

    def count(self, kind: str) -> int:
        row = self.reader.conn.execute("SELECT count(*) FROM journal WHERE type = ?", (kind,))
        return int(row.fetchone()[0])
