"""WAL checkpoints off the commit path.

SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL past 1,000 pages:
that batch (and every batch queued behind it) waited for the copy into the database file
and its fsync, tens of milliseconds on a busy disk, every few seconds at 1,000 events/s.
Here a thread with a connection of its own runs a PASSIVE checkpoint once a second (it
never blocks a writer or a reader, and SQLite releases the GIL while it works); the
writer keeps an automatic checkpoint at a far larger size, only as a net in case this
thread falls behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

INTERVAL_S = 1.0
# The writer's own checkpoint, in pages (4 KiB): 64 MB of WAL, only reached if this
# thread cannot keep up.
WRITER_FALLBACK_PAGES = 16384


class Checkpointer:
    def __init__(self, path: Path, interval_s: float = INTERVAL_S) -> None:
        self.path = path
        self.interval_s = interval_s
        self.checkpoints = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, writer: sqlite3.Connection) -> None:
        """Take the checkpoints over from `writer` (the journal's writing connection)."""
        if self._thread is not None:
            return
        writer.execute(f"PRAGMA wal_autocheckpoint={WRITER_FALLBACK_PAGES}")
        self._thread = threading.Thread(target=self._run, name="journal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            while not self._stop.wait(self.interval_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:
                    # Busy or a full disk: the next turn tries again, and the writer's own
                    # checkpoint is still there.
                    self.errors += 1
                    if self.errors <= 5:
                        log.warning("journal: checkpoint failed: %s", exc)
        finally:
            conn.close()
