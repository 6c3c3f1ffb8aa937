"""Where a hall's journal is, and opening it: for the hub and every CLI command alike."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.clock import Clock, utcnow
from edge.config import HubConfig
from edge.errors import StoreError
from edge.store.connection import connect
from edge.store.journal import Journal, journal_identity, new_identity
from edge.store.reader import JournalReader
from edge.store.schema import migrate


def journal_path(cfg: HubConfig) -> Path:
    """`[store] path`, relative to the config file's folder."""
    return cfg.resolve(cfg.store.path)


def journal_bytes(path: Path) -> int:
    """The journal's size on disk: the database file and its WAL (absent ones count 0)."""
    total = 0
    for file in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(FileNotFoundError):
            total += file.stat().st_size
    return total


def open_journal(cfg: HubConfig, clock: Clock = utcnow) -> Journal:
    """The hub's writer, with the config's store settings; made if it does not exist."""
    return Journal(
        journal_path(cfg),
        cfg.hall.id,
        ZoneInfo(cfg.hall.timezone),
        synchronous=cfg.store.synchronous,
        spool_max_bytes=cfg.store.spool_max_bytes,
        max_bytes=cfg.store.disk_max_bytes,
        clock=clock,
    )


def open_reader(cfg: HubConfig) -> JournalReader:
    """A read-only view of an existing journal; StoreError naming the file and key if the
    hub has not made it yet (a tool must not create an empty journal by looking)."""
    db = journal_path(cfg)
    if not db.exists():
        raise StoreError(
            f"{cfg.source}: store.path: the journal {db} does not exist yet (has the hub run?)"
        )
    try:
        return JournalReader(db)
    except Exception as exc:
        raise StoreError(f"{cfg.source}: store.path: cannot open the journal {db}: {exc}") from None


def renew_identity(cfg: HubConfig) -> tuple[str | None, str]:
    """Give an existing journal a new identity (a journal restored from a copy, contract
    §3); returns (old, new). StoreError naming the file if it is not there or not writable."""
    db = journal_path(cfg)
    if not db.exists():
        raise StoreError(f"{cfg.source}: store.path: the journal {db} does not exist")
    try:
        conn = connect(db)
        try:
            migrate(conn)
            return journal_identity(conn), new_identity(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{db}: cannot write the journal: {exc}") from None
