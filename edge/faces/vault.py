"""The enrolment vault: its own SQLite file, apart from the journal and any customer record.

What it holds (docs/architecture.md, "Privacy of faces"):
- `enrolments`: pseudonymous reference, consent id, purpose, expiry, minor/guardian, vip;
- `encodings`: one AES-256-GCM sealed face encoding per reference, the reference bound in
  as associated data so a sealed value moved to another row fails to open;
- `erasures`: the erasure log — reference, consent id, reason, time; never face data.
No image is ever stored. Deleted rows are overwritten (`secure_delete`) and the WAL is
checkpointed and truncated after every erasure, so erased ciphertext does not linger in
the database files.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edge.faces.consent import Enrolment
from edge.faces.keyfile import FaceVaultError, load_or_create_key

__all__ = ["ENCODING_SIZE", "Erasure", "FaceVault", "FaceVaultError"]

log = logging.getLogger(__name__)

ENCODING_SIZE = 128  # dlib's face descriptor
_NONCE = 12
_KEY_CHECK = b"hall-edge face vault v1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS enrolments (
    customer_ref TEXT PRIMARY KEY,
    consent_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    expires TEXT NOT NULL,
    minor INTEGER NOT NULL,
    guardian_consent_id TEXT,
    vip INTEGER NOT NULL,
    enrolled_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS encodings (
    customer_ref TEXT PRIMARY KEY REFERENCES enrolments(customer_ref) ON DELETE CASCADE,
    sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS erasures (
    id INTEGER PRIMARY KEY,
    customer_ref TEXT NOT NULL,
    consent_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    erased_at TEXT NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True, slots=True)
class Erasure:
    """One line of the erasure log."""

    id: int
    customer_ref: str
    consent_id: str
    reason: str
    erased_at: datetime


def _row_enrolment(row: sqlite3.Row) -> Enrolment:
    return Enrolment(
        customer_ref=row["customer_ref"],
        consent_id=row["consent_id"],
        purpose=row["purpose"],
        expires=date.fromisoformat(row["expires"]),
        minor=bool(row["minor"]),
        guardian_consent_id=row["guardian_consent_id"],
        vip=bool(row["vip"]),
        enrolled_at=datetime.fromisoformat(row["enrolled_at"]),
    )


def _create_private(path: Path) -> None:
    """Create the vault file owner-only before SQLite opens it (its -wal/-shm inherit this)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class FaceVault:
    """Encrypted store of enrolled encodings and their consent records (thread-safe)."""

    def __init__(self, path: str | Path, key_path: str | Path) -> None:
        self.path = Path(path)
        self.key_path = Path(key_path)
        _create_private(self.path)
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=5.0
            )
        except sqlite3.Error as exc:
            raise FaceVaultError(f"{self.path}: cannot open the face vault ({exc})") from None
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        try:
            self._setup()
            self._aead = AESGCM(self._key())
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise FaceVaultError(f"{self.path}: not a usable face vault ({exc})") from None
        except BaseException:
            self._db.close()
            raise
        self._data_version = self._version()

    # -- setup ---------------------------------------------------------------------------

    def _setup(self) -> None:
        db = self._db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        # Deleted content is overwritten with zeros instead of left in free pages.
        db.execute("PRAGMA secure_delete=ON")
        # Only a new file is written to: a second process opening the vault (the CLI while
        # the hub runs) must not look like a change to the first.
        if db.execute("PRAGMA user_version").fetchone()[0] == 0:
            db.executescript(_SCHEMA)
            db.execute("PRAGMA user_version=1")

    def _key(self) -> bytes:
        row = self._db.execute("SELECT value FROM meta WHERE name='key_check'").fetchone()
        if row is not None and not self.key_path.exists():
            # Creating a new key here would make every enrolment unreadable: refuse instead.
            raise FaceVaultError(
                f"{self.key_path}: the face key is missing but {self.path} holds enrolments "
                "sealed with it; restore the key file, or erase the vault to start over"
            )
        key, _created = load_or_create_key(self.key_path)
        aead = AESGCM(key)
        if row is None:
            nonce = os.urandom(_NONCE)
            sealed = nonce + aead.encrypt(nonce, _KEY_CHECK, b"key_check")
            # OR IGNORE: another process creating the vault at the same moment may win
            self._db.execute(
                "INSERT OR IGNORE INTO meta(name, value) VALUES ('key_check', ?)", (sealed,)
            )
            row = self._db.execute("SELECT value FROM meta WHERE name='key_check'").fetchone()
        value = bytes(row["value"])
        try:
            aead.decrypt(value[:_NONCE], value[_NONCE:], b"key_check")
        except InvalidTag:
            raise FaceVaultError(
                f"{self.key_path} is not the key of {self.path}; restore the right key file"
            ) from None
        return key

    # -- helpers -------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _seal(self, ref: str, encoding: np.ndarray) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, encoding.tobytes(), ref.encode("utf-8"))

    def _open(self, ref: str, sealed: bytes) -> np.ndarray:
        try:
            raw = self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], ref.encode("utf-8"))
        except InvalidTag:
            raise FaceVaultError(
                f"{self.path}: the sealed encoding of {ref} does not open with this key"
            ) from None
        return np.frombuffer(raw, dtype="<f8").copy()

    def _version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _scrub(self) -> None:
        # Move the overwritten pages into the main file and empty the WAL, so that the old
        # ciphertext is gone from both files once the erasure returns.
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @staticmethod
    def _log_erasure(
        db: sqlite3.Connection, ref: str, consent: str, reason: str, at: datetime
    ) -> None:
        db.execute(
            "INSERT INTO erasures(customer_ref, consent_id, reason, erased_at) VALUES (?, ?, ?, ?)",
            (ref, consent, reason, at.isoformat()),
        )
        log.info("face enrolment erased: ref=%s consent=%s reason=%s", ref, consent, reason)

    # -- writing -------------------------------------------------------------------------

    def enroll(self, enrolment: Enrolment, encoding: np.ndarray, now: datetime) -> bool:
        """Store an enrolment and its sealed encoding; True if it replaced an earlier one."""
        vec = np.asarray(encoding, dtype="<f8").reshape(-1)
        if vec.shape != (ENCODING_SIZE,) or not np.all(np.isfinite(vec)):
            raise FaceVaultError(f"a face encoding has {ENCODING_SIZE} finite numbers")
        ref = enrolment.customer_ref
        with self._write() as db:
            old = db.execute(
                "SELECT consent_id FROM enrolments WHERE customer_ref=?", (ref,)
            ).fetchone()
            if old is not None:
                db.execute("DELETE FROM enrolments WHERE customer_ref=?", (ref,))
                self._log_erasure(db, ref, old["consent_id"], "re-enrolled", now)
            db.execute(
                "INSERT INTO enrolments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ref,
                    enrolment.consent_id,
                    enrolment.purpose,
                    enrolment.expires.isoformat(),
                    int(enrolment.minor),
                    enrolment.guardian_consent_id,
                    int(enrolment.vip),
                    now.isoformat(),
                ),
            )
            db.execute("INSERT INTO encodings VALUES (?, ?)", (ref, self._seal(ref, vec)))
        if old is not None:
            self._scrub()
        return old is not None

    def erase(self, ref: str, reason: str, now: datetime) -> bool:
        """Erase one enrolment at once and log it; False if there was none under `ref`."""
        with self._write() as db:
            row = db.execute(
                "SELECT consent_id FROM enrolments WHERE customer_ref=?", (ref,)
            ).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM enrolments WHERE customer_ref=?", (ref,))
            self._log_erasure(db, ref, row["consent_id"], reason, now)
        self._scrub()
        return True

    def erase_expired(self, today: date, now: datetime) -> list[str]:
        """Erase every enrolment whose expiry date is before `today`; the references erased."""
        with self._write() as db:
            rows = db.execute(
                "SELECT customer_ref, consent_id FROM enrolments WHERE expires < ?",
                (today.isoformat(),),
            ).fetchall()
            for row in rows:
                db.execute("DELETE FROM enrolments WHERE customer_ref=?", (row["customer_ref"],))
                self._log_erasure(db, row["customer_ref"], row["consent_id"], "expired", now)
        if rows:
            self._scrub()
        return [row["customer_ref"] for row in rows]

    def mark_reported(self, ids: list[int]) -> None:
        """Note that these erasures were turned into `face.erased` events."""
        if not ids:
            return
        with self._write() as db:
            db.executemany("UPDATE erasures SET reported=1 WHERE id=?", [(i,) for i in ids])

    # -- reading -------------------------------------------------------------------------

    def enrolments(self) -> list[Enrolment]:
        """Consent records only, ordered by reference; encodings are not read."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM enrolments ORDER BY customer_ref").fetchall()
        return [_row_enrolment(r) for r in rows]

    def get(self, ref: str) -> Enrolment | None:
        """The consent record of one reference, if enrolled."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM enrolments WHERE customer_ref=?", (ref,)
            ).fetchone()
        return None if row is None else _row_enrolment(row)

    def load(self) -> tuple[list[Enrolment], np.ndarray]:
        """Every enrolment with its decrypted encoding, as rows of an (N, 128) float64 array."""
        with self._lock:
            rows = self._db.execute(
                "SELECT e.*, c.sealed FROM enrolments e JOIN encodings c USING (customer_ref) "
                "ORDER BY e.customer_ref"
            ).fetchall()
        enrolments = [_row_enrolment(r) for r in rows]
        matrix = np.empty((len(rows), ENCODING_SIZE), dtype=np.float64)
        for i, row in enumerate(rows):
            matrix[i] = self._open(row["customer_ref"], bytes(row["sealed"]))
        return enrolments, matrix

    def erasures(self, *, unreported: bool = False, limit: int | None = None) -> list[Erasure]:
        """The erasure log, oldest first (optionally only lines not yet reported as events)."""
        where = " WHERE reported=0" if unreported else ""
        sql = f"SELECT * FROM erasures{where} ORDER BY id"
        params: tuple[int, ...] = ()
        if limit is not None:
            # the newest `limit` lines, still listed oldest first
            newest = f"SELECT * FROM erasures{where} ORDER BY id DESC LIMIT ?"
            sql = f"SELECT * FROM ({newest}) ORDER BY id"
            params = (limit,)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [
            Erasure(
                id=r["id"],
                customer_ref=r["customer_ref"],
                consent_id=r["consent_id"],
                reason=r["reason"],
                erased_at=datetime.fromisoformat(r["erased_at"]),
            )
            for r in rows
        ]

    def changed_elsewhere(self) -> bool:
        """True if another connection (e.g. the CLI) committed since the last call."""
        version = self._version()
        changed = version != self._data_version
        self._data_version = version
        return changed

    # -- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> FaceVault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
