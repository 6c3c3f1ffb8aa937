"""The journal database's tables, created and upgraded by numbered migrations."""

from __future__ import annotations

import sqlite3

# Each entry upgrades the schema by one version; never edit one that has shipped.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
    -- Every journaled event; seq is the gapless hallseq of the contract.
    CREATE TABLE journal (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        device_id TEXT NOT NULL,
        time_ms INTEGER NOT NULL,        -- when it happened (event time), epoch ms
        received_ms INTEGER NOT NULL,    -- when the hub journaled it
        causation INTEGER,
        envelope BLOB NOT NULL
    );
    CREATE INDEX journal_time ON journal (time_ms);
    -- Device-side ids already journaled: a repeat is not journaled twice.
    CREATE TABLE source_ids (
        device_id TEXT NOT NULL, source_id TEXT NOT NULL, seq INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        PRIMARY KEY (device_id, source_id)
    ) WITHOUT ROWID;
    CREATE INDEX source_ids_age ON source_ids (received_ms);
    -- Events waiting for the cloud's PUBACK.
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        size INTEGER NOT NULL,
        status_like INTEGER NOT NULL,
        time_ms INTEGER NOT NULL
    );
    CREATE INDEX outbox_status ON outbox (status_like, seq);
    CREATE TABLE drops (type TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        received_ms INTEGER NOT NULL,
        device_id TEXT,
        topic TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        raw BLOB NOT NULL
    );
    CREATE TABLE commands (
        cmd_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        name TEXT NOT NULL,
        received_ms INTEGER NOT NULL,
        code INTEGER,
        reply BLOB
    ) WITHOUT ROWID;
    CREATE INDEX commands_age ON commands (received_ms);
    CREATE TABLE devices (
        device_id TEXT PRIMARY KEY,
        online INTEGER,
        since_ms INTEGER,
        last_event_ms INTEGER,
        events INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    ) WITHOUT ROWID;
    CREATE TABLE rule_state (id INTEGER PRIMARY KEY CHECK (id = 1), blob BLOB NOT NULL);
    """,
)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the newest schema; returns the version it is at."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        version = number
    return version
