"""SQLite journal, outbox, command log, dead letters, device states and rule state."""

from edge.store.journal import (
    INTERNAL_ERROR,
    BatchResult,
    DeadLetter,
    Journal,
    Written,
    connect,
    journal_identity,
    new_identity,
    now_ms,
    poison_letter,
)
from edge.store.reader import JournalReader, OutboxRow, SpoolStats
from edge.store.schema import MIGRATIONS, migrate

__all__ = [
    "INTERNAL_ERROR",
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
    "poison_letter",
]
