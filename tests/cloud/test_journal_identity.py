"""The hub side of #17: every envelope names its journal (`halljournal`), and a journal
restored from a copy is given a new identity, so the cloud does not take reused `hallseq`
numbers for the old journal's events."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.model import Event
from edge.store import Journal, JournalReader
from tests.support.hall import ROOT, write_config

TZ = ZoneInfo("Asia/Shanghai")


def _journal(path: Path, n: int) -> list[dict[str, object]]:
    j = Journal(path, "h-1", TZ, synchronous="normal")
    result = j.write_batch([Event("rating.submitted", "pad-1", {"level": 5}) for _ in range(n)])
    j.close()
    return [json.loads(w.envelope) for w in result.written]


def _cli(*args: str, cwd: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return out.stdout.strip()


def test_identity_minted_once_and_kept_across_reopen(tmp_path: Path) -> None:
    first = _journal(tmp_path / "hall.db", 2)
    again = _journal(tmp_path / "hall.db", 1)
    ident = first[0]["halljournal"]
    assert isinstance(ident, str) and len(ident) == 26
    assert {e["halljournal"] for e in first + again} == {ident}
    assert [e["hallseq"] for e in first + again] == [1, 2, 3]
    assert JournalReader(tmp_path / "hall.db").identity() == ident


def test_restored_copy_gets_a_new_identity_and_goes_on_from_its_last_seq(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hall.db"
    before = _journal(db, 3)
    # The operator's backup: sqlite3's online backup, as docs/operations.md says.
    backup = tmp_path / "backup.db"
    with sqlite3.connect(db) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    after_backup = _journal(db, 2)  # the original goes on: hallseq 4, 5
    # The disk dies; the copy is put in place and marked as a new identity.
    for f in (db, db.with_name("hall.db-wal"), db.with_name("hall.db-shm")):
        f.unlink(missing_ok=True)
    shutil.copy(backup, db)
    cfg = write_config(tmp_path / "hall.toml", "mqtt://127.0.0.1:1", "mqtt://127.0.0.1:1")
    assert _cli("journal", "identity", "-c", str(cfg), cwd=tmp_path) == before[0]["halljournal"]
    said = _cli("journal", "new-identity", "-c", str(cfg), cwd=tmp_path)
    restored = _journal(db, 2)
    assert [e["hallseq"] for e in restored] == [4, 5]  # the same numbers as after_backup...
    new = restored[0]["halljournal"]
    assert new != before[0]["halljournal"] == after_backup[0]["halljournal"]  # ...told apart
    assert said.endswith(f"{before[0]['halljournal']} -> {new}")
    assert _cli("journal", "identity", "-c", str(cfg), cwd=tmp_path) == new


def test_new_identity_on_a_missing_journal_is_a_clear_error(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "hall.toml", "mqtt://127.0.0.1:1", "mqtt://127.0.0.1:1")
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", "journal", "new-identity", "-c", str(cfg)],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode != 0
    assert "store.path" in out.stderr + out.stdout and "Traceback" not in out.stderr
