"""SQLite journal, outbox, command log, dead letters, device states and rule state."""

from edge.store.connection import Committer, connect, transaction
from edge.store.journal import (
    INTERNAL_ERROR,
    BatchResult,
    DeadLetter,
    Journal,
    Stamped,
    StampedBatch,
    Written,
    journal_identity,
    new_identity,
    now_ms,
    poison_letter,
)
from edge.store.opening import (
    journal_bytes,
    journal_path,
    open_journal,
    open_reader,
    renew_identity,
)
from edge.store.outbox import Drops, Outbox
from edge.store.reader import JournalReader, SpoolStats
from edge.store.schema import MIGRATIONS, migrate

__all__ = [
    "INTERNAL_ERROR",
    "MIGRATIONS",
    "BatchResult",
    "Committer",
    "DeadLetter",
    "Drops",
    "Journal",
    "JournalReader",
    "Outbox",
    "SpoolStats",
    "Stamped",
    "StampedBatch",
    "Written",
    "connect",
    "journal_bytes",
    "journal_identity",
    "journal_path",
    "migrate",
    "new_identity",
    "now_ms",
    "open_journal",
    "open_reader",
    "poison_letter",
    "renew_identity",
    "transaction",
]
