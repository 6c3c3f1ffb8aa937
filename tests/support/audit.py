"""What the journal holds against what the cloud received: the fault tests' final check.

"Loses no data" is checked against the hub's own journal, not against what the test sent:
every journaled event id must reach the cloud (copies allowed and counted), except the
status-like events the spool policy dropped, which the journal's `drops` table counts.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from tests.support.cloud_tally import CloudTally


def journal_rows(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
    """`sql` on a hub's journal file, read-only (the hub may be running: WAL)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


class JournalRow(NamedTuple):
    """A journal row, as SQLite returns it (only what the audit compares)."""

    seq: int
    id: str
    type: str
    device_id: str


class DeadRow(NamedTuple):
    """A dead letter of the hub's own journal (not the cloud's `DeadLetter` record)."""

    device_id: str | None
    topic: str
    reason: str
    raw: bytes


@dataclass
class JournalView:
    """A read-only look into a hub's journal file (the hub may be running: WAL)."""

    rows: list[JournalRow]
    outbox: int
    drops: dict[str, int]
    dead: list[DeadRow]
    last_seq: int

    @classmethod
    def read(cls, db: Path) -> JournalView:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = [
                JournalRow(*r)
                for r in conn.execute("SELECT seq, id, type, device_id FROM journal ORDER BY seq")
            ]
            outbox = int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
            drops = {str(t): int(n) for t, n in conn.execute("SELECT type, count FROM drops")}
            dead = [
                DeadRow(d, t, r, bytes(raw))
                for d, t, r, raw in conn.execute(
                    "SELECT device_id, topic, reason, raw FROM dead_letters ORDER BY id"
                )
            ]
            row = conn.execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
        finally:
            conn.close()
        return cls(rows, outbox, drops, dead, int(row[0]) if row else 0)

    def ids(self, event_type: str | None = None) -> set[str]:
        return {r.id for r in self.rows if event_type is None or r.type == event_type}

    def types(self) -> Counter[str]:
        return Counter(r.type for r in self.rows)


@dataclass
class Delivery:
    """The outcome of one fault test, as the report prints it."""

    journaled: int
    delivered: int
    copies: int
    duplicates: int
    dropped: int
    missing: list[JournalRow] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"journaled {self.journaled}, reached the cloud {self.delivered} "
            f"({self.copies} copies, {self.duplicates} duplicates), dropped by the spool "
            f"policy {self.dropped}, missing {len(self.missing)}"
        )


def audit(db: Path, cloud: CloudTally) -> tuple[Delivery, JournalView]:
    """Compare the journal with the cloud's tally; `missing` excludes nothing (see below)."""
    view = JournalView.read(db)
    with cloud.lock:
        seen = set(cloud.first)
        total = cloud.total
    missing = [r for r in view.rows if r.id not in seen]
    journaled_seen = len(view.rows) - len(missing)
    report = Delivery(
        journaled=len(view.rows),
        delivered=journaled_seen,
        copies=total,
        duplicates=total - len(seen),
        dropped=sum(view.drops.values()),
        missing=missing,
    )
    return report, view


def assert_all_delivered(report: Delivery, view: JournalView) -> None:
    """Every journaled id reached the cloud, the outbox is empty, hallseq has no gap."""
    assert not report.missing, (
        f"{len(report.missing)} journaled events never reached the cloud, first: "
        f"{report.missing[:5]}"
    )
    assert view.outbox == 0, f"{view.outbox} events still in the outbox"
    seqs = [r.seq for r in view.rows]
    assert seqs == list(range(1, view.last_seq + 1)), "hallseq has a gap in the journal"
