"""The vault: key file permissions, encryption at rest, erasure that really erases."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from edge.faces.consent import Enrolment
from edge.faces.keyfile import FaceVaultError
from edge.faces.vault import FaceVault
from tests.faces.conftest import key_mode
from tests.faces.privacy import encoding_forms

NOW = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)


def enrolment(ref: str = "C-1", expires: date = date(2027, 1, 31), vip: bool = False) -> Enrolment:
    return Enrolment(
        customer_ref=ref,
        consent_id=f"FC-{ref}",
        purpose="priority service",
        expires=expires,
        vip=vip,
    )


def encoding(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, 128)


def files_bytes(db: Path) -> bytes:
    """Everything SQLite keeps on disk for the vault: main file, WAL, shared memory."""
    return b"".join(
        p.read_bytes() for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()
    )


def test_key_file_is_created_owner_only(tmp_path: Path) -> None:
    key = tmp_path / "secret" / "faces.key"
    with FaceVault(tmp_path / "faces.db", key):
        pass
    assert key_mode(key) == 0o600
    assert key_mode(tmp_path / "faces.db") == 0o600
    assert len(key.read_bytes().strip()) == 44  # 32 bytes in base64


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_refuses_a_key_readable_by_others(tmp_path: Path, mode: int) -> None:
    key = tmp_path / "faces.key"
    FaceVault(tmp_path / "faces.db", key).close()
    key.chmod(mode)
    with pytest.raises(
        FaceVaultError,
        match=rf"readable or writable by group/others \(mode 0{mode:o}\); run `chmod 600",
    ):
        FaceVault(tmp_path / "faces.db", key)


def test_refuses_a_missing_or_foreign_key_for_existing_enrolments(tmp_path: Path) -> None:
    db, key = tmp_path / "faces.db", tmp_path / "faces.key"
    with FaceVault(db, key) as vault:
        vault.enroll(enrolment(), encoding(1), NOW)
    key.unlink()
    with pytest.raises(FaceVaultError, match="the face key is missing but"):
        FaceVault(db, key)
    assert not key.exists(), "no new key may be made over existing enrolments"
    FaceVault(tmp_path / "other.db", tmp_path / "other.key").close()
    with pytest.raises(FaceVaultError, match=r"other\.key is not the key of"):
        FaceVault(db, tmp_path / "other.key")


def test_encodings_are_encrypted_at_rest(tmp_path: Path) -> None:
    db = tmp_path / "faces.db"
    encs = [encoding(i) for i in range(5)]
    with FaceVault(db, tmp_path / "faces.key") as vault:
        for i, enc in enumerate(encs):
            vault.enroll(enrolment(f"C-{i}"), enc, NOW)
        raw = files_bytes(db)
        assert b"C-3" in raw, "the reference itself is stored (it is pseudonymous)"
        for enc in encs:
            for label, form in encoding_forms(enc):
                assert form not in raw, f"{label} found in the vault files"
        refs, matrix = vault.load()
    assert [e.customer_ref for e in refs] == [f"C-{i}" for i in range(5)]
    assert np.array_equal(matrix, np.stack(encs))


def test_sealed_value_is_bound_to_its_reference(tmp_path: Path) -> None:
    db = tmp_path / "faces.db"
    with FaceVault(db, tmp_path / "faces.key") as vault:
        vault.enroll(enrolment("C-1"), encoding(1), NOW)
        vault.enroll(enrolment("C-2"), encoding(2), NOW)
    con = sqlite3.connect(db)
    with con:
        sealed = con.execute("SELECT sealed FROM encodings WHERE customer_ref='C-1'").fetchone()[0]
        con.execute("UPDATE encodings SET sealed=? WHERE customer_ref='C-2'", (sealed,))
    con.close()
    with (
        FaceVault(db, tmp_path / "faces.key") as vault,
        pytest.raises(FaceVaultError, match="sealed encoding of C-2 does not open"),
    ):
        vault.load()


def test_erasure_removes_the_row_and_its_ciphertext_and_is_logged(tmp_path: Path) -> None:
    db = tmp_path / "faces.db"
    with FaceVault(db, tmp_path / "faces.key") as vault:
        vault.enroll(enrolment("C-1"), encoding(1), NOW)
        vault.enroll(enrolment("C-2"), encoding(2), NOW)
        sealed = vault._db.execute(
            "SELECT sealed FROM encodings WHERE customer_ref='C-1'"
        ).fetchone()[0]
        assert bytes(sealed)[20:60] in files_bytes(db)
        assert vault.erase("C-1", "request", NOW) is True
        assert vault.erase("C-1", "request", NOW) is False
        assert bytes(sealed)[20:60] not in files_bytes(db), "erased ciphertext left in the files"
        assert [e.customer_ref for e in vault.enrolments()] == ["C-2"]
        assert vault.load()[1].shape == (1, 128)
        log = vault.erasures()
    assert [(e.customer_ref, e.consent_id, e.reason, e.erased_at) for e in log] == [
        ("C-1", "FC-C-1", "request", NOW)
    ]
    con = sqlite3.connect(db)
    columns = {row[1] for row in con.execute("PRAGMA table_info(erasures)")}
    con.close()
    assert columns == {"id", "customer_ref", "consent_id", "reason", "erased_at", "reported"}


def test_expired_enrolments_are_erased_and_logged(tmp_path: Path) -> None:
    with FaceVault(tmp_path / "faces.db", tmp_path / "faces.key") as vault:
        vault.enroll(enrolment("C-old", expires=date(2026, 11, 26)), encoding(1), NOW)
        vault.enroll(enrolment("C-today", expires=date(2026, 11, 27)), encoding(2), NOW)
        assert vault.erase_expired(date(2026, 11, 27), NOW) == ["C-old"]
        assert vault.erase_expired(date(2026, 11, 27), NOW) == []
        assert [e.customer_ref for e in vault.enrolments()] == ["C-today"]
        assert [(e.customer_ref, e.reason) for e in vault.erasures(unreported=True)] == [
            ("C-old", "expired")
        ]
        vault.mark_reported([e.id for e in vault.erasures()])
        assert vault.erasures(unreported=True) == []


def test_re_enrolment_replaces_and_logs_the_old_encoding(tmp_path: Path) -> None:
    with FaceVault(tmp_path / "faces.db", tmp_path / "faces.key") as vault:
        assert vault.enroll(enrolment("C-1"), encoding(1), NOW) is False
        assert vault.enroll(enrolment("C-1", vip=True), encoding(2), NOW) is True
        _, matrix = vault.load()
        assert np.array_equal(matrix[0], encoding(2))
        assert vault.get("C-1") is not None and vault.get("C-1").vip  # type: ignore[union-attr]
        assert [e.reason for e in vault.erasures()] == ["re-enrolled"]


def test_changes_by_another_process_are_noticed(tmp_path: Path) -> None:
    db, key = tmp_path / "faces.db", tmp_path / "faces.key"
    with FaceVault(db, key) as hub, FaceVault(db, key) as cli:
        assert hub.changed_elsewhere() is False
        hub.enroll(enrolment("C-1"), encoding(1), NOW)
        assert hub.changed_elsewhere() is False, "its own writes are not news"
        cli.erase("C-1", "request", NOW)
        assert hub.changed_elsewhere() is True
        assert hub.changed_elsewhere() is False


def test_rejects_a_malformed_encoding(tmp_path: Path) -> None:
    with FaceVault(tmp_path / "faces.db", tmp_path / "faces.key") as vault:
        with pytest.raises(FaceVaultError, match="128 finite numbers"):
            vault.enroll(enrolment(), np.zeros(64), NOW)
        with pytest.raises(FaceVaultError, match="128 finite numbers"):
            vault.enroll(enrolment(), np.full(128, np.nan), NOW)
        assert vault.enrolments() == []
