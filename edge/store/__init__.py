"""SQLite journal, outbox, command log, dead letters, device states and rule state."""

from edge.store.journal import (
    BatchResult,
    DeadLetter,
    Journal,
    Written,
    connect,
    journal_identity,
    new_identity,
    now_ms,
)
from edge.store.reader import JournalReader, OutboxRow, SpoolStats
from edge.store.schema import MIGRATIONS, migrate

__all__ = [
    "MIGRATIONS",
    "BatchResult",
    "DeadLetter",
    "Journal",
    "JournalReader",
    "OutboxRow",
    "SpoolStats",
    "Written",
    "connect",
    "journal_identity",
    "migrate",
    "new_identity",
    "now_ms",
]
