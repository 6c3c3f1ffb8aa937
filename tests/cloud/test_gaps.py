"""Gaps in hallseq through the real sink into PostgreSQL: opened, narrowed, closed by the
resent events, per journal; a new journal of a hall is recorded, never a gap."""

from __future__ import annotations

import asyncio

from cloud.sink import Message, PostgresSink
from tests.cloud.conftest import query
from tests.cloud.envelopes import event


def _write(dsn: str, *batches: list[Message]) -> PostgresSink:
    async def run() -> PostgresSink:
        sink = PostgresSink(dsn)
        await sink.connect()
        for b in batches:
            await sink.write(b)
        await sink.close()
        return sink

    return asyncio.run(run())


def _gaps(dsn: str) -> list[tuple[str, int, int, bool]]:
    rows = query(
        dsn,
        "SELECT halljournal, from_seq, to_seq, closed_at IS NULL AS open FROM gaps"
        " ORDER BY halljournal, from_seq",
    )
    return [(r["halljournal"], r["from_seq"], r["to_seq"], r["open"]) for r in rows]


def test_gap_opens_and_the_resent_events_close_it(pg_dsn: str) -> None:
    live = [event("h1", s) for s in (1, 2, 3, 7, 8)]
    _write(pg_dsn, live)
    assert _gaps(pg_dsn) == [("J1", 4, 6, True)]
    _write(pg_dsn, [event("h1", 5, resent=True)])
    assert _gaps(pg_dsn) == [("J1", 4, 4, True), ("J1", 6, 6, True)]
    # The backlog drains, with a duplicate of an event already stored among it.
    _write(pg_dsn, [event("h1", 4, resent=True), event("h1", 6, resent=True), live[0]])
    assert [g[3] for g in _gaps(pg_dsn)] == [False, False]
    [j] = query(pg_dsn, "SELECT * FROM journals")
    assert (j["first_hallseq"], j["max_hallseq"], j["reused_seqs"]) == (1, 8, 0)
    assert query(pg_dsn, "SELECT count(*) AS n FROM events")[0]["n"] == 8


def test_a_new_journal_is_recorded_not_a_gap(pg_dsn: str) -> None:
    # The old box numbered 1..5; a restored copy (new identity) goes on from 3.
    _write(pg_dsn, [event("h1", s, journal="OLD") for s in range(1, 6)])
    _write(pg_dsn, [event("h1", s, journal="NEW") for s in range(3, 9)])
    assert _gaps(pg_dsn) == []
    rows = query(pg_dsn, "SELECT halljournal, first_hallseq, max_hallseq FROM journals ORDER BY 1")
    assert [(r["halljournal"], r["first_hallseq"], r["max_hallseq"]) for r in rows] == [
        ("NEW", 3, 8),
        ("OLD", 1, 5),
    ]
    n = query(pg_dsn, "SELECT count(*) AS n FROM events WHERE hallid = 'h1'")[0]["n"]
    assert n == 11  # hallseq 3, 4, 5 twice: distinct events of two journals


def test_a_restore_without_new_identity_is_counted_as_reused(pg_dsn: str) -> None:
    _write(pg_dsn, [event("h1", s) for s in range(1, 6)])
    _write(pg_dsn, [event("h1", s) for s in (4, 5)])  # new ids, numbers used again
    [j] = query(pg_dsn, "SELECT reused_seqs FROM journals")
    assert j["reused_seqs"] == 2 and _gaps(pg_dsn) == []


def test_gaps_are_per_hall(pg_dsn: str) -> None:
    _write(pg_dsn, [event("h1", 1), event("h1", 3), event("h2", 1), event("h2", 2)])
    rows = query(pg_dsn, "SELECT hallid, from_seq, to_seq FROM gaps")
    assert [(r["hallid"], r["from_seq"], r["to_seq"]) for r in rows] == [("h1", 2, 2)]
