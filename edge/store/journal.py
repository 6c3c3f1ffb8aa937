"""The journal: events committed to SQLite before anyone is told they arrived.

One `Journal` object owns the writing connection, used by one caller at a time (the hub's
journal gate sees to that). A batch is first stamped (hallseq numbers, envelopes, repeats
taken out), then the rules decide on it outside any transaction, then `write` puts its
events, outbox rows, dead letters and rule state in one transaction: the group commit that
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
from edge.clock import Clock, utcnow
from edge.errors import SpoolFullError, StoreError, described
from edge.model import Event, EventIds, JournaledEvent, is_status_like
from edge.store.checkpoint import Checkpointer
from edge.store.connection import Committer, connect, transaction, transaction_committed_by
from edge.store.outbox import Drops, Outbox
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


# Written and Stamped are made once per event and never changed; not frozen, because a
# frozen dataclass sets each field through object.__setattr__ (4x the cost, measured).
@dataclass(slots=True)
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


@dataclass(slots=True)
class Stamped:
    """One event numbered and enveloped, not yet written."""

    event: JournaledEvent
    envelope: bytes
    time_ms: int
    source_id: str | None


@dataclass(slots=True)
class StampedBatch:
    """A batch as the rules see it: numbered in hallseq order, repeats and poison taken out.

    Nothing of it is in the database yet; `Journal.write` writes it in one transaction.
    """

    items: list[Stamped] = field(default_factory=list)
    poison: list[DeadLetter] = field(default_factory=list)
    duplicates: int = 0
    received_ms: int = 0

    @property
    def events(self) -> list[JournaledEvent]:
        return [s.event for s in self.items]


@dataclass(frozen=True, slots=True)
class _Added:
    """What a batch's transaction added, taken into the counters once it has committed."""

    result: BatchResult
    last_seq: int
    spool_bytes: int
    spool_rows: int
    drops: Drops


def now_ms() -> int:
    return int(time.time() * 1000)


class Journal:
    """The hub's writing side of the SQLite file: one writer, used from one thread at a time."""

    def __init__(
        self,
        path: str | Path,
        hall_id: str,
        tz: tzinfo,
        *,
        synchronous: str = "full",
        spool_max_bytes: int = 1 << 30,
        max_bytes: int | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.path = Path(path)
        self.clock = clock  # stamps `received` (and the time of an event without one)
        self.hall_id = hall_id
        self.tz = tz
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
            self.outbox = Outbox(self.conn, spool_max_bytes, synchronous)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the journal: {exc}") from None
        self.ids = EventIds()
        self.checkpointer = Checkpointer(self.path)
        self.closed = False

    @property
    def spool_count(self) -> int:
        return self.outbox.count

    @property
    def spool_bytes(self) -> int:
        return self.outbox.bytes

    def start_checkpoints(self) -> None:
        """WAL checkpoints on a thread of their own from now on (edge/store/checkpoint.py)."""
        self.checkpointer.start(self.conn)

    def close(self) -> None:
        self.checkpointer.stop()
        self.closed = True
        self.conn.close()

    # -- the hot path: stamp, (the rules decide), write ---------------------------------
    def stamp(self, events: Sequence[Event]) -> StampedBatch:
        """Number and envelope a batch; a repeat of a device id already journaled (or twice
        in the batch) is counted and left out, and an event no envelope takes becomes a
        dead letter: one bad event never fails the batch, which would stop the journal for
        every other event of the hall."""
        received = int(self.clock().timestamp() * 1000)
        batch = StampedBatch(received_ms=received)
        seen = self._known_sources(events)
        seq = self.last_seq
        arrived = datetime.fromtimestamp(received / 1000, UTC)  # the time of an event without one
        for ev in events:
            key = None if ev.source_id is None else (ev.device_id, ev.source_id)
            if key is not None and key in seen:
                batch.duplicates += 1
                continue
            try:
                when = ev.time or arrived
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
                batch.poison.append(poison_letter(ev, exc))
                continue
            if key is not None:
                seen.add(key)
            seq += 1
            je = JournaledEvent(seq, eid, ev.type, ev.device_id, when, ev.data, ev.causation)
            batch.items.append(Stamped(je, env, time_ms, ev.source_id))
        return batch

    def _known_sources(self, events: Sequence[Event]) -> set[tuple[str, str]]:
        keys = [(e.device_id, e.source_id) for e in events if e.source_id is not None]
        found: set[tuple[str, str]] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            # A join on the primary key: `(a, b) IN (VALUES …)` scans the whole table.
            values = ",".join(["(?,?)"] * len(chunk))
            found.update(
                self.conn.execute(
                    f"WITH v(d, s) AS (VALUES {values}) SELECT t.device_id, t.source_id"
                    " FROM v CROSS JOIN source_ids t ON t.device_id = v.d AND t.source_id = v.s",
                    [x for k in chunk for x in k],
                )
            )
        return found

    async def write(
        self,
        batch: StampedBatch,
        forward: Sequence[bool] | None = None,
        dead: Sequence[DeadLetter] = (),
        rule_state: bytes | None = None,
        commit_on: Committer | None = None,
    ) -> BatchResult:
        """Write a stamped batch in one transaction: events, outbox rows (for the events
        `forward` sends to the cloud; all when None), dead letters, rule state.

        On a full disk, status-like events and delivered history make room and the batch
        is tried once more; if it still does not fit, SpoolFullError is raised and nothing
        of the batch is committed, so the caller must not acknowledge it.
        """
        if commit_on is None:
            return self.write_now(batch, forward, dead, rule_state)
        try:
            async with transaction_committed_by(self.conn, commit_on):
                added = self._insert(batch, forward, dead, rule_state)
        except sqlite3.OperationalError as exc:
            return self._after_disk_full(exc, batch, forward, dead, rule_state)
        return self._took(added)

    def write_now(
        self,
        batch: StampedBatch,
        forward: Sequence[bool] | None = None,
        dead: Sequence[DeadLetter] = (),
        rule_state: bytes | None = None,
    ) -> BatchResult:
        """`write`, committed right here (tools, tests, the disk-full retry)."""
        try:
            with transaction(self.conn):
                added = self._insert(batch, forward, dead, rule_state)
        except sqlite3.OperationalError as exc:
            return self._after_disk_full(exc, batch, forward, dead, rule_state)
        return self._took(added)

    def write_batch(
        self,
        events: Sequence[Event],
        dead: Sequence[DeadLetter] = (),
        decide: Callable[[JournaledEvent], bool] | None = None,
    ) -> BatchResult:
        """Stamp and write in one call, committed here: for tools and tests."""
        batch = self.stamp(events)
        forward = None if decide is None else [decide(s.event) for s in batch.items]
        return self.write_now(batch, forward, dead)

    def _after_disk_full(
        self,
        exc: sqlite3.OperationalError,
        batch: StampedBatch,
        forward: Sequence[bool] | None,
        dead: Sequence[DeadLetter],
        rule_state: bytes | None,
    ) -> BatchResult:
        if not any(s in str(exc).lower() for s in _DISK_FULL):
            raise StoreError(f"{self.path}: {exc}") from None
        freed = self.make_room()
        log.warning("journal: disk full; freed %d rows, trying the batch again", freed)
        try:
            with transaction(self.conn):
                added = self._insert(batch, forward, dead, rule_state)
        except sqlite3.OperationalError as exc2:
            raise SpoolFullError(f"{self.path}: disk full even after making room: {exc2}") from None
        result = self._took(added)
        # What make_room dropped is reported like a budget drop: it raises the alert.
        for etype, n in self.last_drops.items():
            result.dropped[etype] = result.dropped.get(etype, 0) + n
        self.last_drops = {}
        return result

    def _insert(
        self,
        batch: StampedBatch,
        forward: Sequence[bool] | None,
        dead: Sequence[DeadLetter],
        rule_state: bytes | None,
    ) -> _Added:
        """Every row of the batch, inside the caller's transaction."""
        conn = self.conn
        received = batch.received_ms
        result = BatchResult(duplicates=batch.duplicates)
        journal_rows: list[tuple[Any, ...]] = []
        outbox_rows: list[tuple[int, int, int, int]] = []
        source_rows: list[tuple[str, str, int, int]] = []
        spool_added = 0
        seq = self.last_seq
        for i, st in enumerate(batch.items):
            ev = st.event
            seq = ev.seq
            journal_rows.append(
                (seq, ev.id, ev.type, ev.device_id, st.time_ms, received, ev.causation, st.envelope)
            )
            if st.source_id is not None:
                source_rows.append((ev.device_id, st.source_id, seq, received))
            sent = forward is None or forward[i]
            if sent:
                outbox_rows.append(
                    (seq, len(st.envelope), int(is_status_like(ev.type)), st.time_ms)
                )
                spool_added += len(st.envelope)
            result.written.append(Written(ev, st.envelope, sent))
        conn.executemany("INSERT OR IGNORE INTO source_ids VALUES (?,?,?,?)", source_rows)
        conn.executemany("INSERT INTO journal VALUES (?,?,?,?,?,?,?,?)", journal_rows)
        self.outbox.insert(outbox_rows)
        letters = [*dead, *batch.poison]
        if letters:
            conn.executemany(
                "INSERT INTO dead_letters (received_ms, device_id, topic, reason, detail, raw)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (received, _text(d.device_id), _text(d.topic), d.reason, _text(d.detail), d.raw)
                    for d in letters
                ],
            )
            result.dead_letters = len(letters)
        if seq != self.last_seq:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_seq', ?)", (seq,))
        if rule_state is not None:
            conn.execute("INSERT OR REPLACE INTO rule_state VALUES (1, ?)", (rule_state,))
        self._count_per_device(batch.items)
        drops = self.outbox.enforce_budget(spool_added)
        return _Added(result, seq, spool_added, len(outbox_rows), drops)

    def _count_per_device(self, items: Sequence[Stamped]) -> None:
        per_device: dict[str, list[int]] = {}
        for st in items:
            n = per_device.setdefault(st.event.device_id, [0, 0])
            n[0] += 1
            n[1] = st.time_ms
        if per_device:
            self.conn.executemany(
                "INSERT INTO devices (device_id, events, last_event_ms) VALUES (?,?,?)"
                " ON CONFLICT(device_id) DO UPDATE SET events=events+excluded.events,"
                " last_event_ms=excluded.last_event_ms",
                [(d, n, t) for d, (n, t) in per_device.items()],
            )

    def _took(self, added: _Added) -> BatchResult:
        """After the commit: the journal's counters take the batch in."""
        self.last_seq = added.last_seq
        self.outbox.took(added.spool_bytes, added.spool_rows, added.drops)
        added.result.dropped = added.drops.by_type
        return added.result

    # -- spool policy -----------------------------------------------------------------
    def expire_status(self, max_age_s: float) -> dict[str, int]:
        """Drop undelivered status-like events older than the spool's age bound."""
        return self.outbox.expire(now_ms() - int(max_age_s * 1000))

    def make_room(self) -> int:
        """On a full disk: drop status-like backlog, then the oldest delivered history."""
        conn = self.conn
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        try:
            with transaction(conn):
                drops = self.outbox.drop_status(None, None)
                deleted = conn.execute(
                    "DELETE FROM journal WHERE seq IN (SELECT j.seq FROM journal j"
                    " LEFT JOIN outbox o USING (seq) WHERE o.seq IS NULL ORDER BY j.seq LIMIT"
                    " (SELECT MAX(1000, COUNT(*) / 10) FROM journal))"
                ).rowcount
        except sqlite3.OperationalError:
            return 0
        self.outbox.took(0, 0, drops)
        self.last_drops = drops.by_type
        return drops.rows + max(deleted, 0)

    last_drops: dict[str, int] = {}  # noqa: RUF012 - replaced, never mutated

    def delivered(self, seqs: Iterable[int]) -> None:
        """The cloud acknowledged these: they leave the outbox."""
        self.outbox.delivered(seqs)

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
        with transaction(self.conn) as conn:
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
        return n


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
