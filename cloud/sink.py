"""The transport-agnostic core: a batch of (topic, payload) in, committed to PostgreSQL out.

A source (the MQTT one in cloud/mqtt_source.py, or an AMQP one) hands `PostgresSink.write`
a batch and acknowledges the batch's messages to its broker only when `write` returns:
by then every message of it is committed, as a row or as a dead letter. `write` never
gives up on a lost database: it holds the batch, reconnects with backoff and writes it again
(at-least-once towards PostgreSQL is exactly-once in it: `event_ids` drops what a lost
commit acknowledgement made us write twice). A batch PostgreSQL refuses (a value it cannot
store) is written message by message, and the ones it refuses become dead letters
`rejected`, so no message can stall the consumer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg

from cloud import records
from cloud.gaps import Gap, JournalSeqs, apply
from cloud.partitions import Partitions, month_of
from cloud.records import DeadLetter, DeviceState, EventRow, HallState, ReplyRow
from cloud.schema import migrate

log = logging.getLogger(__name__)

Message = tuple[str, bytes]  # (topic, payload)


class Sink(Protocol):
    """What a source writes to: returns once the whole batch is committed."""

    async def write(self, batch: Sequence[Message]) -> None: ...


# Errors after which the same batch is worth writing again on a fresh connection.
_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.AdminShutdownError,
)


_CLOSE_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, *_TRANSIENT)


@dataclass(slots=True)
class SinkStats:
    batches: int = 0
    messages: int = 0
    events_new: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    retries: int = 0
    last_commit_s: float = 0.0
    made_partitions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Parsed:
    events: list[EventRow] = field(default_factory=list)
    halls: dict[str, HallState] = field(default_factory=dict)
    devices: dict[tuple[str, str], DeviceState] = field(default_factory=dict)
    replies: dict[tuple[str, str], ReplyRow] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)


class PostgresSink:
    def __init__(
        self,
        dsn: str,
        *,
        max_bytes: int = 1 << 20,
        halls: frozenset[str] | None = None,
        backoff_min_s: float = 0.2,
        backoff_max_s: float = 5.0,
        command_timeout_s: float = 30.0,
    ) -> None:
        self.dsn = dsn
        self.max_bytes = max_bytes
        self.halls = halls
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.command_timeout_s = command_timeout_s
        self.stats = SinkStats()
        self._conn: Any = None
        self._partitions = Partitions()

    # -- connection ---------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect and migrate, retrying with backoff until PostgreSQL answers."""
        await self._ensure()

    async def _ensure(self, holding: int = 0) -> Any:
        delay = self.backoff_min_s
        while self._conn is None or self._conn.is_closed():
            try:
                conn = await asyncpg.connect(
                    self.dsn, timeout=5, command_timeout=self.command_timeout_s
                )
                applied = await migrate(conn)
                if applied:
                    log.info("database: applied %s", ", ".join(applied))
                self._partitions = Partitions()
                made = await self._partitions.ensure_ahead(conn)
                self.stats.made_partitions += made
                self._conn = conn
                log.info("database: connected")
            except _TRANSIENT as exc:
                log.warning(
                    "database: %s; %sretrying in %.1f s",
                    exc or type(exc).__name__,
                    f"holding {holding} messages, " if holding else "",
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)
        return self._conn

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            try:
                await asyncio.wait_for(self._conn.close(), 2.0)
            except _CLOSE_ERRORS:
                self._conn.terminate()  # a database that does not answer
        self._conn = None

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
        self._conn = None

    # -- the seam -----------------------------------------------------------------------
    async def write(self, batch: Sequence[Message]) -> None:
        parsed = [records.parse(t, p, max_bytes=self.max_bytes, halls=self.halls) for t, p in batch]
        delay = self.backoff_min_s
        while True:
            conn = await self._ensure(len(batch))
            try:
                try:
                    await self._write(conn, parsed)
                except asyncpg.PostgresError as exc:
                    if isinstance(exc, _TRANSIENT):
                        raise
                    # Something in the batch PostgreSQL will never take: find it.
                    log.warning("database refused a batch (%s); writing it one by one", exc)
                    await self._write_singly(conn, parsed, batch)
                self.stats.batches += 1
                self.stats.messages += len(batch)
                return
            except _TRANSIENT as exc:
                self.stats.retries += 1
                log.warning(
                    "database: %s; holding %d messages, retrying in %.1f s",
                    exc or type(exc).__name__,
                    len(batch),
                    delay,
                )
                self._drop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)

    async def _write_singly(
        self, conn: Any, parsed: list[records.Record], batch: Sequence[Message]
    ) -> None:
        for rec, (topic, payload) in zip(parsed, batch, strict=True):
            try:
                await self._write(conn, [rec])
            except asyncpg.PostgresError as exc:
                if isinstance(exc, _TRANSIENT):
                    raise
                await self._write(conn, [DeadLetter(topic, payload, "rejected", str(exc))])

    async def _write(self, conn: Any, recs: Sequence[records.Record]) -> None:
        p = _split(recs)
        months = {month_of(e.time) for e in p.events}
        self.stats.made_partitions += await self._partitions.ensure(conn, months)
        started = time.perf_counter()
        now = datetime.now(UTC)
        async with conn.transaction():
            new = await _insert_events(conn, p.events)
            if new:
                await _insert_alerts(conn, new)
                await _track_gaps(conn, new, now)
            await _upsert_states(conn, p)
            if p.dead:
                await conn.executemany(
                    "INSERT INTO dead_letters (topic, payload, reason, detail)"
                    " VALUES ($1,$2,$3,$4)",
                    [(d.topic, d.payload, d.reason, d.detail) for d in p.dead],
                )
        self.stats.last_commit_s = time.perf_counter() - started
        self.stats.events_new += len(new)
        self.stats.duplicates += len(p.events) - len(new)
        self.stats.dead_letters += len(p.dead)


def _split(recs: Sequence[records.Record]) -> _Parsed:
    p = _Parsed()
    seen: set[tuple[str, str]] = set()
    for r in recs:
        if isinstance(r, EventRow):
            if (r.hallid, r.id) not in seen:  # the same event twice in one batch
                seen.add((r.hallid, r.id))
                p.events.append(r)
        elif isinstance(r, HallState):
            p.halls[r.hallid] = r  # the latest of a batch wins
        elif isinstance(r, DeviceState):
            p.devices[(r.hallid, r.deviceid)] = r
        elif isinstance(r, ReplyRow):
            old = p.replies.get((r.hallid, r.cmd_id))
            if old is None or old.code == 202:
                p.replies[(r.hallid, r.cmd_id)] = r
        elif isinstance(r, DeadLetter):
            p.dead.append(r)
    return p


_INSERT_EVENTS = """
WITH batch AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[],
                         $6::timestamptz[], $7::text[], $8::boolean[], $9::jsonb[])
        AS b(hallid, halljournal, id, hallseq, type, time, deviceid, resent, data)
), new AS (
    INSERT INTO event_ids (hallid, id) SELECT hallid, id FROM batch
    ON CONFLICT DO NOTHING
    RETURNING hallid, id
)
INSERT INTO events (hallid, halljournal, id, hallseq, type, time, deviceid, resent, data)
SELECT b.* FROM batch b JOIN new USING (hallid, id)
RETURNING hallid, halljournal, id, hallseq, type, time, data
"""


async def _insert_events(conn: Any, events: list[EventRow]) -> list[Any]:
    if not events:
        return []
    cols = list(
        zip(
            *(
                (
                    e.hallid,
                    e.halljournal,
                    e.id,
                    e.hallseq,
                    e.type,
                    e.time,
                    e.deviceid,
                    e.resent,
                    e.data,
                )
                for e in events
            ),
            strict=True,
        )
    )
    return list(await conn.fetch(_INSERT_EVENTS, *[list(c) for c in cols]))


async def _insert_alerts(conn: Any, new: list[Any]) -> None:
    alerts = [r for r in new if r["type"] == "alert.raised"]
    if not alerts:
        return
    await conn.execute(
        "INSERT INTO alerts (hallid, id, time, severity, rule, message, subject, data)"
        " SELECT hallid, id, time, data->>'severity', data->>'rule', data->>'message',"
        " data->>'subject', data"
        " FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[])"
        " AS a(hallid, id, time, data) ON CONFLICT DO NOTHING",
        [r["hallid"] for r in alerts],
        [r["id"] for r in alerts],
        [r["time"] for r in alerts],
        [r["data"] for r in alerts],
    )


async def _track_gaps(conn: Any, new: list[Any], now: datetime) -> None:
    seqs: dict[tuple[str, str], list[int]] = {}
    for r in new:
        seqs.setdefault((r["hallid"], r["halljournal"]), []).append(r["hallseq"])
    keys = sorted(seqs)
    state = await _lock_journals(conn, keys, now)
    open_gaps = await _open_gaps(conn, keys)
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for key in keys:
        changed = apply(state[key], open_gaps.get(key, []), seqs[key], now)
        for g in changed:
            if g.gap_id is None:
                inserts.append((*key, g.from_seq, g.to_seq, g.first_seen, g.closed_at))
            else:
                updates.append((g.gap_id, g.from_seq, g.to_seq, g.closed_at))
    await _save_journals(conn, keys, state, now)
    if inserts:
        await conn.executemany(
            "INSERT INTO gaps (hallid, halljournal, from_seq, to_seq, first_seen, closed_at)"
            " VALUES ($1,$2,$3,$4,$5,$6)",
            inserts,
        )
    if updates:
        await conn.executemany(
            "UPDATE gaps SET from_seq = $2, to_seq = $3, closed_at = $4 WHERE gap_id = $1",
            updates,
        )


def _columns(keys: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(hallid, halljournal) keys as the two arrays the queries unnest."""
    return [k[0] for k in keys], [k[1] for k in keys]


async def _lock_journals(
    conn: Any, keys: list[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], JournalSeqs]:
    """Each journal's row (made if new), locked for this transaction, as its JournalSeqs."""
    halls, journals = _columns(keys)
    await conn.execute(
        "INSERT INTO journals (hallid, halljournal, first_seen, last_seen)"
        " SELECT h, j, $3, $3 FROM unnest($1::text[], $2::text[]) AS k(h, j)"
        " ON CONFLICT DO NOTHING",
        halls,
        journals,
        now,
    )
    # Row locks in key order: consumers sharing a hall's events update its gaps in turn.
    rows = await conn.fetch(
        "SELECT j.hallid, j.halljournal, first_hallseq, max_hallseq, reused_seqs"
        " FROM journals j JOIN unnest($1::text[], $2::text[]) AS k(h, jn)"
        " ON j.hallid = k.h AND j.halljournal = k.jn"
        " ORDER BY j.hallid, j.halljournal FOR UPDATE OF j",
        halls,
        journals,
    )
    return {
        (r["hallid"], r["halljournal"]): JournalSeqs(
            r["first_hallseq"], r["max_hallseq"], r["reused_seqs"]
        )
        for r in rows
    }


async def _open_gaps(conn: Any, keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[Gap]]:
    halls, journals = _columns(keys)
    rows = await conn.fetch(
        "SELECT gap_id, g.hallid, g.halljournal, from_seq, to_seq, first_seen FROM gaps g"
        " JOIN unnest($1::text[], $2::text[]) AS k(h, jn)"
        " ON g.hallid = k.h AND g.halljournal = k.jn WHERE closed_at IS NULL",
        halls,
        journals,
    )
    open_gaps: dict[tuple[str, str], list[Gap]] = {}
    for r in rows:
        open_gaps.setdefault((r["hallid"], r["halljournal"]), []).append(
            Gap(r["from_seq"], r["to_seq"], r["first_seen"], r["gap_id"])
        )
    return open_gaps


async def _save_journals(
    conn: Any,
    keys: list[tuple[str, str]],
    state: dict[tuple[str, str], JournalSeqs],
    now: datetime,
) -> None:
    halls, journals = _columns(keys)
    await conn.execute(
        "UPDATE journals j SET first_hallseq = u.f, max_hallseq = u.m, reused_seqs = u.r,"
        " last_seen = $6"
        " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])"
        " AS u(h, jn, f, m, r) WHERE j.hallid = u.h AND j.halljournal = u.jn",
        halls,
        journals,
        [state[k].first_hallseq for k in keys],
        [state[k].max_hallseq for k in keys],
        [state[k].reused for k in keys],
        now,
    )


def _newer_since_upsert(table: str, keys: tuple[str, ...], values: tuple[str, ...]) -> str:
    """The upsert of a retained state row: an older `since` never overwrites a newer one."""
    columns = (*keys, *values)
    placeholders = ",".join(f"${i}" for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in values)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}, updated_at = now()"
        f" WHERE {table}.since IS NULL OR excluded.since IS NULL"
        f" OR excluded.since >= {table}.since"
    )


_HALL_STATE_UPSERT = _newer_since_upsert(
    "hall_state", ("hallid",), ("state", "version", "since", "payload")
)
_DEVICE_STATE_UPSERT = _newer_since_upsert(
    "device_state", ("hallid", "deviceid"), ("state", "since", "payload")
)


async def _upsert_states(conn: Any, p: _Parsed) -> None:
    # Retained states may arrive late or twice (a reconnect, a second consumer).
    if p.halls:
        await conn.executemany(
            _HALL_STATE_UPSERT,
            [(s.hallid, s.state, s.version, s.since, s.payload) for s in p.halls.values()],
        )
    if p.devices:
        await conn.executemany(
            _DEVICE_STATE_UPSERT,
            [(s.hallid, s.deviceid, s.state, s.since, s.payload) for s in p.devices.values()],
        )
    if p.replies:
        # A final reply replaces the interim 202; a repeat of the final one changes nothing.
        await conn.executemany(
            "INSERT INTO replies (hallid, deviceid, cmd_id, code, msg, data)"
            " VALUES ($1,$2,$3,$4,$5,$6)"
            " ON CONFLICT (hallid, cmd_id) DO UPDATE SET code = excluded.code,"
            " msg = excluded.msg, data = excluded.data, received_at = now()"
            " WHERE replies.code = 202",
            [(r.hallid, r.deviceid, r.cmd_id, r.code, r.msg, r.data) for r in p.replies.values()],
        )
