"""The outbox: journaled events the cloud has not acknowledged yet, and its budget.

Its rows live in the journal database and are written in the journal's transactions; this
object keeps the running totals (rows, bytes) that the hub's metrics and the spool budget
read without a query. A total changes only once the transaction that changed the rows has
committed (`took`), so a rolled-back batch leaves no trace in it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from edge.store.connection import transaction


@dataclass(slots=True)
class Drops:
    """Status-like events dropped from the outbox, by type, and what that freed."""

    by_type: dict[str, int] = field(default_factory=dict)
    freed_bytes: int = 0
    rows: int = 0


class Outbox:
    def __init__(self, conn: sqlite3.Connection, max_bytes: int, synchronous: str) -> None:
        self.conn = conn
        self.max_bytes = max_bytes
        self.synchronous = synchronous
        row = conn.execute("SELECT COALESCE(SUM(size),0), COUNT(*) FROM outbox").fetchone()
        self.bytes = int(row[0])
        self.count = int(row[1])

    # -- inside a journal transaction ------------------------------------------------
    def insert(self, rows: list[tuple[int, int, int, int]]) -> None:
        """(seq, size, status_like, time_ms) rows; counted by `took` after the commit."""
        self.conn.executemany("INSERT INTO outbox VALUES (?,?,?,?)", rows)

    def enforce_budget(self, adding: int) -> Drops:
        """Drop the oldest status-like events while the outbox is over its byte budget.

        Business events are never dropped: if only they remain, the outbox goes over budget
        and the disk itself is the last bound (Journal.make_room).
        """
        over = self.bytes + adding - self.max_bytes
        if over <= 0:
            return Drops()
        return self.drop_status(over, older_than_ms=None)

    def drop_status(self, need_bytes: int | None, older_than_ms: int | None) -> Drops:
        conn = self.conn
        q = (
            "SELECT o.seq, o.size, j.type FROM outbox o JOIN journal j USING (seq)"
            " WHERE o.status_like=1"
        )
        args: list[Any] = []
        if older_than_ms is not None:
            q += " AND o.time_ms < ?"
            args.append(older_than_ms)
        q += " ORDER BY o.seq LIMIT 1000"
        drops = Drops()
        while need_bytes is None or drops.freed_bytes < need_bytes:
            rows = conn.execute(q, args).fetchall()
            if not rows:
                break
            take = []
            for seq, size, etype in rows:
                take.append((seq,))
                drops.freed_bytes += size
                drops.by_type[etype] = drops.by_type.get(etype, 0) + 1
                drops.rows += 1
                if need_bytes is not None and drops.freed_bytes >= need_bytes:
                    break
            conn.executemany("DELETE FROM outbox WHERE seq=?", take)
        for etype, n in drops.by_type.items():
            conn.execute(
                "INSERT INTO drops VALUES (?, ?) ON CONFLICT(type) DO UPDATE SET count=count+?",
                (etype, n, n),
            )
        return drops

    def took(self, added_bytes: int, added_rows: int, drops: Drops) -> None:
        """A committed transaction's changes to the totals."""
        self.bytes += added_bytes - drops.freed_bytes
        self.count += added_rows - drops.rows

    # -- transactions of their own ----------------------------------------------------
    def expire(self, older_than_ms: int) -> dict[str, int]:
        """Drop undelivered status-like events older than the spool's age bound."""
        with transaction(self.conn):
            drops = self.drop_status(None, older_than_ms)
        self.took(0, 0, drops)
        return drops.by_type

    def delivered(self, seqs: Iterable[int]) -> None:
        """The cloud acknowledged these: they leave the outbox, a run of consecutive
        hallseqs (a drained backlog acknowledges in order) in two statements, not one per row."""
        runs = seq_runs(seqs)
        if not runs:
            return
        conn = self.conn
        # No fsync for this one: a deletion lost to a power cut only means the event is
        # sent again (at least once, same id), while an fsync here 20 times a second stalled
        # the hub's loop for ~5 ms each. The next batch's FULL commit syncs it anyway.
        if self.synchronous == "full":
            conn.execute("PRAGMA synchronous=NORMAL")
        sizes = gone = 0
        try:
            with transaction(conn):
                for lo, hi in runs:
                    size, n = conn.execute(
                        "SELECT COALESCE(SUM(size),0), COUNT(*) FROM outbox"
                        " WHERE seq BETWEEN ? AND ?",
                        (lo, hi),
                    ).fetchone()
                    if n:
                        conn.execute("DELETE FROM outbox WHERE seq BETWEEN ? AND ?", (lo, hi))
                        sizes += size
                        gone += n
        finally:
            if self.synchronous == "full":
                conn.execute("PRAGMA synchronous=FULL")
        self.bytes -= sizes
        self.count -= gone


def seq_runs(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """[(first, last)] of the runs of consecutive numbers in `seqs`, ascending."""
    ordered = sorted(set(seqs))
    runs: list[tuple[int, int]] = []
    if not ordered:
        return runs
    lo = prev = ordered[0]
    for s in ordered[1:]:
        if s != prev + 1:
            runs.append((lo, prev))
            lo = s
        prev = s
    runs.append((lo, prev))
    return runs
