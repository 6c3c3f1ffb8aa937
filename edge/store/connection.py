"""Connections to the journal database and the one way a transaction is written."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

# Runs the COMMIT somewhere the event loop does not wait on it (the hub: a thread).
Committer = Callable[[Callable[[], None]], Awaitable[None]]

READER_CACHE_KIB = 512
# The writer's pages that matter are few (the newest leaves of each table and index, the
# devices table, the outbox's oldest rows being deleted); a scan at start-up (the outbox's
# size) would otherwise fill SQLite's default 2 MB with pages read once.
WRITER_CACHE_KIB = 1024


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
        conn.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
    conn.execute("PRAGMA busy_timeout=5000")
    if readonly:
        # SQLite's default page cache is 2 MB per connection, and a reader's fills up with
        # pages it reads once (an outbox page, a day's scan for the KPIs): kept small, the
        # hub's readers cost 0.5 MB each; what they read again is in the OS's cache anyway.
        conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
    return conn


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (which passes on)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


@asynccontextmanager
async def transaction_committed_by(
    conn: sqlite3.Connection, commit_on: Committer
) -> AsyncIterator[sqlite3.Connection]:
    """As `transaction`, with the COMMIT (and its fsync) run by `commit_on`: the rows are
    written inline, where the caller is, and the loop goes on while the disk syncs."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn

        def commit() -> None:
            conn.execute("COMMIT")

        await commit_on(commit)
    except BaseException:
        _rollback(conn)
        raise
