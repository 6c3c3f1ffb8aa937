"""Read-only views of the journal database (WAL lets them run beside the writer)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from edge.model import JournaledEvent
from edge.store.connection import connect
from edge.store.journal import journal_identity, now_ms


@dataclass(frozen=True, slots=True)
class SpoolStats:
    backlog: int
    backlog_bytes: int
    oldest_age_s: float | None
    drops: dict[str, int]
    dead_letters: int
    last_seq: int


class JournalReader:
    """Queries for the uplink, the services and the CLI; never writes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.conn: sqlite3.Connection = connect(self.path, readonly=True)
        self._db: Any = None

    @property
    def db(self) -> Any:
        """The connection seen through sqlite-utils, for the CLI's listings. Imported on
        first use: it weighs 25 MB of memory, which the hub (that never lists) does not pay."""
        if self._db is None:
            import sqlite_utils  # noqa: PLC0415

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def close(self) -> None:
        self.conn.close()

    def outbox_rows(self, from_seq: int, to_seq: int, limit: int) -> list[tuple[int, str, bytes]]:
        """Undelivered events with `from_seq` <= hallseq <= `to_seq`, in hallseq order, at
        most `limit`: (seq, type, envelope) as SQLite returns them, no object per row."""
        rows: list[tuple[int, str, bytes]] = self.conn.execute(
            "SELECT o.seq, j.type, j.envelope FROM outbox o JOIN journal j USING (seq)"
            " WHERE o.seq BETWEEN ? AND ? ORDER BY o.seq LIMIT ?",
            (from_seq, to_seq, limit),
        ).fetchall()
        return rows

    def outbox_first(self) -> int | None:
        row = self.conn.execute("SELECT MIN(seq) FROM outbox").fetchone()
        return None if row[0] is None else int(row[0])

    def identity(self) -> str | None:
        """The journal's identity (`halljournal`); None if no hub has opened it yet."""
        return journal_identity(self.conn)

    def last_seq(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
        return int(row[0]) if row else 0

    def events(
        self,
        start: datetime,
        end: datetime,
        types: Sequence[str] = (),
        after_seq: int = 0,
    ) -> Iterator[JournaledEvent]:
        """Journaled events whose event time is in [start, end), in hallseq order."""
        q = (
            "SELECT seq, id, type, device_id, time_ms, causation, envelope FROM journal"
            " WHERE time_ms >= ? AND time_ms < ? AND seq > ?"
        )
        args: list[Any] = [int(start.timestamp() * 1000), int(end.timestamp() * 1000), after_seq]
        if types:
            q += f" AND type IN ({','.join('?' * len(types))})"
            args.extend(types)
        q += " ORDER BY seq"
        decoder = msgspec.json.Decoder()
        for seq, eid, etype, dev, tms, caus, env in self.conn.execute(q, args):
            data = decoder.decode(env)["data"]
            when = datetime.fromtimestamp(tms / 1000, UTC)
            yield JournaledEvent(seq, eid, etype, dev, when, data, caus, replayed=True)

    def device_events_since(
        self, device_id: str, received_after: datetime
    ) -> list[tuple[str, dict[str, Any], datetime]]:
        """A device's events journaled after `received_after`: (type, data, when journaled).
        For the serial dedupe across a restart; a few rows (seconds of one device)."""
        rows = self.conn.execute(
            "SELECT type, received_ms, envelope FROM journal"
            " WHERE device_id = ? AND received_ms > ? ORDER BY seq",
            (device_id, int(received_after.timestamp() * 1000)),
        ).fetchall()
        decoder = msgspec.json.Decoder()
        return [
            (etype, decoder.decode(env)["data"], datetime.fromtimestamp(rms / 1000, UTC))
            for etype, rms, env in rows
        ]

    def stats(self) -> SpoolStats:
        c = self.conn
        n, size, oldest = c.execute(
            "SELECT COUNT(*), COALESCE(SUM(size),0), MIN(time_ms) FROM outbox"
        ).fetchone()
        first = c.execute(
            "SELECT j.received_ms FROM outbox o JOIN journal j USING (seq) ORDER BY o.seq LIMIT 1"
        ).fetchone()
        drops = dict(c.execute("SELECT type, count FROM drops").fetchall())
        dead = c.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
        age = None if first is None else max(0.0, (now_ms() - first[0]) / 1000)
        del oldest
        return SpoolStats(int(n), int(size), age, drops, int(dead), self.last_seq())

    # The CLI's listings: sqlite-utils reads the rows as dicts by column name, so a
    # listing and its columns cannot drift apart the way positional tuples do.
    def dead_letters(self, limit: int = 50, reason: str | None = None) -> list[dict[str, Any]]:
        rows = self.db["dead_letters"].rows_where(
            "reason = ?" if reason else None,
            [reason] if reason else [],
            order_by="id desc",
            limit=limit,
        )
        return [
            {
                "id": r["id"],
                "received": datetime.fromtimestamp(r["received_ms"] / 1000, UTC).isoformat(
                    timespec="seconds"
                ),
                "device_id": r["device_id"],
                "topic": r["topic"],
                "reason": r["reason"],
                "detail": r["detail"],
                "raw": bytes(r["raw"]),
            }
            for r in rows
        ]

    def dead_letter_counts(self) -> dict[str, int]:
        rows = self.db.query("SELECT reason, COUNT(*) AS n FROM dead_letters GROUP BY reason")
        return {r["reason"]: r["n"] for r in rows}

    def devices(self) -> list[dict[str, Any]]:
        columns = "device_id, online, since_ms, last_event_ms, events, errors, last_error"
        return list(self.db["devices"].rows_where(select=columns, order_by="device_id"))

    def rule_state(self) -> bytes | None:
        row = self.conn.execute("SELECT blob FROM rule_state WHERE id=1").fetchone()
        return bytes(row[0]) if row else None
