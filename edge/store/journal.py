"""The journal: events committed to SQLite before anyone is told they arrived.

One `Journal` object owns the writing connection and is used from one thread only (the
hub runs it on a dedicated single-thread executor), so batches of events, outbox rows,
dead letters and rule state are written in one transaction each: the group commit that
makes the journal-before-ack guarantee affordable.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import msgspec

from edge import envelope
from edge.errors import SpoolFullError, StoreError, described
from edge.model import Event, EventIds, JournaledEvent, is_status_like
from edge.store.schema import migrate

log = logging.getLogger(__name__)

_DISK_FULL = ("database or disk is full", "disk i/o error")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    reason: str
    detail: str
    raw: bytes
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class Written:
    """One journaled event and, when it was forwarded, its place in the outbox."""

    event: JournaledEvent
    envelope: bytes
    forwarded: bool


@dataclass(slots=True)
class BatchResult:
    written: list[Written] = field(default_factory=list)
    duplicates: int = 0
    dead_letters: int = 0
    # Status-like events dropped from the spool, by type.
    dropped: dict[str, int] = field(default_factory=dict)
    committed: bool = True  # False: the transaction is open; commit_pending/finish_pending follow


# A batch written but not yet committed: (last seq, spool bytes and rows added, drops, result).
_Pending = tuple[int, int, int, tuple[dict[str, int], int, int], BatchResult]


def now_ms() -> int:
    return int(time.time() * 1000)


def connect(
    path: str | Path, synchronous: str = "full", readonly: bool = False
) -> sqlite3.Connection:
    """A connection with the pragmas the journal relies on (WAL, busy timeout)."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Journal:
    """The hub's writing side of the SQLite file."""

    def __init__(
        self,
        path: str | Path,
        hall_id: str,
        tz: tzinfo,
        *,
        synchronous: str = "full",
        spool_max_bytes: int = 1 << 30,
        max_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.hall_id = hall_id
        self.tz = tz
        self.spool_max_bytes = spool_max_bytes
        self.synchronous = synchronous
        try:
            self.conn = connect(self.path, synchronous)
            migrate(self.conn)
            if max_bytes is not None:
                # [store] disk_max_bytes: SQLite refuses to grow the file past this many pages
                # (SQLITE_FULL, which takes the disk-full path like a full disk does).
                page = int(self.conn.execute("PRAGMA page_size").fetchone()[0])
                self.conn.execute(f"PRAGMA max_page_count={max(1, int(max_bytes) // page)}")
            row = self.conn.execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
            self.last_seq = int(row[0]) if row else 0
            self.identity = journal_identity(self.conn) or new_identity(self.conn)
            row = self.conn.execute("SELECT COALESCE(SUM(size),0), COUNT(*) FROM outbox").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the journal: {exc}") from None
        self.spool_bytes = int(row[0])
        self.spool_count = int(row[1])
        self.ids = EventIds()
        self._pending: _Pending | None = None
        self.rule_errors = 0

    def close(self) -> None:
        self.conn.close()

    # -- the hot path -----------------------------------------------------------------
    def write_batch(
        self,
        events: Sequence[Event],
        dead: Sequence[DeadLetter] = (),
        decide: Callable[[JournaledEvent], bool] | None = None,
        rule_state: Callable[[], bytes | None] | None = None,
        *,
        commit: bool = True,
    ) -> BatchResult:
        """Journal a batch in one transaction; `decide` says whether each event goes to the cloud.

        On a full disk, status-like events and delivered history make room and the batch
        is tried once more; if it still does not fit, SpoolFullError is raised and nothing
        of the batch is committed, so the caller must not acknowledge it.

        With `commit=False` the rows are written but the transaction stays open (unless the
        slow disk-full path ran): the hub then runs `commit_pending` on a thread, so the
        fsync does not stall its event loop, and `finish_pending` afterwards.
        """
        try:
            return self._write(events, dead, decide, rule_state, commit)
        except sqlite3.OperationalError as exc:
            if not any(s in str(exc).lower() for s in _DISK_FULL):
                raise StoreError(f"{self.path}: {exc}") from None
            freed = self.make_room()
            log.warning("journal: disk full; freed %d rows, trying the batch again", freed)
            try:
                result = self._write(events, dead, decide, rule_state)
            except sqlite3.OperationalError as exc2:
                raise SpoolFullError(
                    f"{self.path}: disk full even after making room: {exc2}"
                ) from None
            # What make_room dropped is reported like a budget drop: it raises the alert.
            for etype, n in self.last_drops.items():
                result.dropped[etype] = result.dropped.get(etype, 0) + n
            self.last_drops = {}
            return result

    def _write(
        self,
        events: Sequence[Event],
        dead: Sequence[DeadLetter],
        decide: Callable[[JournaledEvent], bool] | None,
        rule_state: Callable[[], bytes | None] | None,
        commit: bool = True,
    ) -> BatchResult:
        result = BatchResult()
        conn = self.conn
        seq = self.last_seq
        received = now_ms()
        spool_added = 0
        spool_rows = 0
        journal_rows: list[tuple[Any, ...]] = []
        outbox_rows: list[tuple[int, int, int, int]] = []
        dead_events: list[DeadLetter] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for ev in events:
                # One event that cannot be journaled (a bug in a decoder or a service, data
                # no encoder takes) becomes a dead letter; it never fails the batch, which
                # would stop the journal for every other event of the hall.
                try:
                    when = ev.time or datetime.fromtimestamp(received / 1000, UTC)
                    time_ms = int(when.timestamp() * 1000)
                    eid = self.ids.new(received)
                    env = envelope.encode(
                        hall_id=self.hall_id,
                        seq=seq + 1,
                        event_id=eid,
                        event_type=ev.type,
                        device_id=ev.device_id,
                        time=when,
                        tz=self.tz,
                        data=ev.data,
                        journal=self.identity,
                    )
                except Exception as exc:
                    dead_events.append(poison_letter(ev, exc))
                    continue
                if ev.source_id is not None:
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO source_ids VALUES (?,?,?,?)",
                        (ev.device_id, ev.source_id, seq + 1, received),
                    )
                    if cur.rowcount == 0:
                        result.duplicates += 1
                        continue
                seq += 1
                je = JournaledEvent(seq, eid, ev.type, ev.device_id, when, ev.data, ev.causation)
                journal_rows.append(
                    (seq, eid, ev.type, ev.device_id, time_ms, received, ev.causation, env)
                )
                forward = True
                if decide is not None:
                    try:
                        forward = decide(je)
                    except Exception as exc:
                        # The event is sound and journaled; only the rules failed on it. It
                        # goes to the cloud as if no rule had named it.
                        self.rule_errors += 1
                        log.error(
                            "rules failed on event %d (%s): %s: %s",
                            seq,
                            ev.type,
                            type(exc).__name__,
                            exc,
                        )
                if forward:
                    outbox_rows.append((seq, len(env), int(is_status_like(ev.type)), time_ms))
                    spool_added += len(env)
                    spool_rows += 1
                result.written.append(Written(je, env, forward))
            conn.executemany("INSERT INTO journal VALUES (?,?,?,?,?,?,?,?)", journal_rows)
            conn.executemany("INSERT INTO outbox VALUES (?,?,?,?)", outbox_rows)
            dead = [*dead, *dead_events]
            if dead:
                conn.executemany(
                    "INSERT INTO dead_letters (received_ms, device_id, topic, reason, detail, raw)"
                    " VALUES (?,?,?,?,?,?)",
                    [
                        (
                            received,
                            _text(d.device_id),
                            _text(d.topic),
                            d.reason,
                            _text(d.detail),
                            d.raw,
                        )
                        for d in dead
                    ],
                )
                result.dead_letters = len(dead)
            if seq != self.last_seq:
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_seq', ?)", (seq,))
            if rule_state is not None:
                blob = rule_state()
                if blob is not None:
                    conn.execute("INSERT OR REPLACE INTO rule_state VALUES (1, ?)", (blob,))
            if result.written:
                per_device: dict[str, list[int]] = {}
                for w in result.written:
                    n = per_device.setdefault(w.event.device_id, [0, 0])
                    n[0] += 1
                    n[1] = int(w.event.time.timestamp() * 1000)
                conn.executemany(
                    "INSERT INTO devices (device_id, events, last_event_ms) VALUES (?,?,?)"
                    " ON CONFLICT(device_id) DO UPDATE SET events=events+excluded.events,"
                    " last_event_ms=excluded.last_event_ms",
                    [(d, n, t) for d, (n, t) in per_device.items()],
                )
            dropped = self._enforce_budget(spool_added)
            self._pending = (seq, spool_added, spool_rows, dropped, result)
            if commit:
                conn.execute("COMMIT")
        except BaseException:
            self.abort_pending()
            raise
        if not commit:
            result.committed = False
            return result
        return self.finish_pending()

    def commit_pending(self) -> None:
        """COMMIT the batch `write_batch(commit=False)` left open (may run on another thread)."""
        self.conn.execute("COMMIT")

    def finish_pending(self) -> BatchResult:
        """After the commit: the journal's counters take the batch in."""
        if self._pending is None:
            raise StoreError("no batch is waiting to be finished")
        seq, spool_added, spool_rows, dropped, result = self._pending
        self._pending = None
        self.last_seq = seq
        self.spool_bytes += spool_added - dropped[1]
        self.spool_count += spool_rows - dropped[2]
        result.dropped = dropped[0]
        result.committed = True
        return result

    def abort_pending(self) -> None:
        """Roll back an open batch: nothing of it happened."""
        self._pending = None
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.ids = EventIds()  # ids handed out for the lost batch are never reused anyway

    # -- spool policy -----------------------------------------------------------------
    def _enforce_budget(self, adding: int) -> tuple[dict[str, int], int, int]:
        """Drop the oldest status-like events while the spool is over its byte budget.

        Business events are never dropped: if only they remain, the spool goes over budget
        and the disk itself is the last bound (see make_room).
        """
        over = self.spool_bytes + adding - self.spool_max_bytes
        if over <= 0:
            return {}, 0, 0
        return self._drop_status(over, older_than_ms=None)

    def _drop_status(
        self, need_bytes: int | None, older_than_ms: int | None
    ) -> tuple[dict[str, int], int, int]:
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
        by_type: dict[str, int] = {}
        freed = 0
        count = 0
        while need_bytes is None or freed < need_bytes:
            rows = conn.execute(q, args).fetchall()
            if not rows:
                break
            take = []
            for seq, size, etype in rows:
                take.append((seq,))
                freed += size
                by_type[etype] = by_type.get(etype, 0) + 1
                count += 1
                if need_bytes is not None and freed >= need_bytes:
                    break
            conn.executemany("DELETE FROM outbox WHERE seq=?", take)
        for etype, n in by_type.items():
            conn.execute(
                "INSERT INTO drops VALUES (?, ?) ON CONFLICT(type) DO UPDATE SET count=count+?",
                (etype, n, n),
            )
        return by_type, freed, count

    def expire_status(self, max_age_s: float) -> dict[str, int]:
        """Drop undelivered status-like events older than the spool's age bound."""
        cutoff = now_ms() - int(max_age_s * 1000)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            by_type, freed, count = self._drop_status(None, cutoff)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.spool_bytes -= freed
        self.spool_count -= count
        return by_type

    def make_room(self) -> int:
        """On a full disk: drop status-like backlog, then the oldest delivered history."""
        conn = self.conn
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("BEGIN IMMEDIATE")
        try:
            by_type, freed, count = self._drop_status(None, None)
            deleted = conn.execute(
                "DELETE FROM journal WHERE seq IN (SELECT j.seq FROM journal j"
                " LEFT JOIN outbox o USING (seq) WHERE o.seq IS NULL ORDER BY j.seq LIMIT"
                " (SELECT MAX(1000, COUNT(*) / 10) FROM journal))"
            ).rowcount
            conn.execute("COMMIT")
        except sqlite3.OperationalError:
            conn.execute("ROLLBACK")
            return 0
        self.spool_bytes -= freed
        self.spool_count -= count
        self.last_drops = by_type
        return count + max(deleted, 0)

    last_drops: dict[str, int] = {}  # noqa: RUF012 - replaced, never mutated

    # -- outbox -----------------------------------------------------------------------
    def delivered(self, seqs: Iterable[int]) -> None:
        """The cloud acknowledged these: they leave the outbox."""
        rows = [(s,) for s in seqs]
        if not rows:
            return
        conn = self.conn
        # No fsync for this one: a deletion lost to a power cut only means the event is
        # sent again (at least once, same id), while an fsync here 20 times a second stalled
        # the hub's loop for ~5 ms each. The next batch's FULL commit syncs it anyway.
        if self.synchronous == "full":
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            sizes = 0
            gone = 0
            for (s,) in rows:
                r = conn.execute("DELETE FROM outbox WHERE seq=? RETURNING size", (s,)).fetchone()
                if r is not None:
                    sizes += r[0]
                    gone += 1
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            if self.synchronous == "full":
                conn.execute("PRAGMA synchronous=FULL")
        self.spool_bytes -= sizes
        self.spool_count -= gone

    # -- commands ---------------------------------------------------------------------
    def command_seen(self, cmd_id: str, device_id: str, name: str) -> tuple[bool, bytes | None]:
        """Record a command id; returns (already known, its first reply if there is one)."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO commands (cmd_id, device_id, name, received_ms)"
            " VALUES (?,?,?,?)",
            (cmd_id, device_id, name, now_ms()),
        )
        if cur.rowcount == 1:
            return False, None
        row = self.conn.execute("SELECT reply FROM commands WHERE cmd_id=?", (cmd_id,)).fetchone()
        return True, (row[0] if row else None)

    def finish_interrupted_commands(self, reply: Callable[[str], bytes], code: int) -> int:
        """Give every command recorded without a final reply (its run died with the last
        hub process) the reply `reply(cmd_id)`: a retry then gets that, not "in progress"
        forever. Called once at start, before any command of this run is recorded."""
        rows = self.conn.execute("SELECT cmd_id FROM commands WHERE reply IS NULL").fetchall()
        for (cmd_id,) in rows:
            self.command_replied(cmd_id, code, reply(cmd_id))
        return len(rows)

    def command_replied(self, cmd_id: str, code: int, reply: bytes) -> None:
        self.conn.execute(
            "UPDATE commands SET code=?, reply=? WHERE cmd_id=? AND reply IS NULL",
            (code, reply, cmd_id),
        )

    # -- devices ----------------------------------------------------------------------
    def device_state(self, device_id: str, online: bool | None, error: str | None = None) -> None:
        t = now_ms()
        if online is not None:
            self.conn.execute(
                "INSERT INTO devices (device_id, online, since_ms) VALUES (?,?,?)"
                " ON CONFLICT(device_id) DO UPDATE SET online=excluded.online,"
                " since_ms=excluded.since_ms",
                (device_id, int(online), t),
            )
        if error is not None:
            self.conn.execute(
                "INSERT INTO devices (device_id, errors, last_error) VALUES (?,1,?)"
                " ON CONFLICT(device_id) DO UPDATE SET errors=errors+1,"
                " last_error=excluded.last_error",
                (device_id, error),
            )

    # -- housekeeping -----------------------------------------------------------------
    def prune(self, journal_days: float, source_id_days: float, command_days: float) -> int:
        """Forget old delivered history, old device ids and old command replies."""
        t = now_ms()
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            n = conn.execute(
                "DELETE FROM journal WHERE received_ms < ? AND seq NOT IN (SELECT seq FROM outbox)",
                (t - int(journal_days * 86_400_000),),
            ).rowcount
            conn.execute(
                "DELETE FROM source_ids WHERE received_ms < ?",
                (t - int(source_id_days * 86_400_000),),
            )
            # Dead letters are evidence for an installer: kept as long as the history.
            conn.execute(
                "DELETE FROM dead_letters WHERE received_ms < ?",
                (t - int(journal_days * 86_400_000),),
            )
            conn.execute(
                "DELETE FROM commands WHERE received_ms < ?", (t - int(command_days * 86_400_000),)
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return n

    def rule_state(self) -> bytes | None:
        row = self.conn.execute("SELECT blob FROM rule_state WHERE id=1").fetchone()
        return bytes(row[0]) if row else None


INTERNAL_ERROR = "internal_error"


def _text(value: str | None) -> str | None:
    # A dead letter is evidence and must always be writable: a lone surrogate (from a bug
    # upstream) would make SQLite refuse the whole batch, so it is replaced.
    if value is None or value.isascii():
        return value
    return value.encode("utf-8", "replace").decode("utf-8")


def poison_letter(ev: Event, exc: BaseException) -> DeadLetter:
    """The dead letter of an event the journal could not write, with what it held."""
    try:
        raw = msgspec.json.encode({"type": ev.type, "data": ev.data})
    except Exception:
        raw = repr(ev)[:4096].encode("utf-8", "replace")
    detail = described(exc)
    log.error("journal: event %s of %s is a dead letter: %s", ev.type, ev.device_id, detail)
    return DeadLetter(f"journal/{ev.device_id}", INTERNAL_ERROR, detail, raw, ev.device_id)


def journal_identity(conn: sqlite3.Connection) -> str | None:
    """The journal's identity (`halljournal` in the envelope), None before it has one."""
    row = conn.execute("SELECT value FROM meta WHERE key='journal_id'").fetchone()
    return None if row is None else str(row[0])


def new_identity(conn: sqlite3.Connection) -> str:
    """Mint and store a new identity: on creation, and for a journal restored from a copy.

    A copy continues `hallseq` from its last event, so numbers the original used after the
    copy are used again; under a new identity the cloud counts them apart (contract §3).
    """
    identity = EventIds().new()
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('journal_id', ?)", (identity,))
    return identity


def decode_data(env: bytes) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.json.decode(env)["data"]
    return data
