"""The doctor's disk check counts the journal as the hub does (database and WAL) and says
so when it may not look at it, instead of counting an unreadable journal as empty."""

from __future__ import annotations

from pathlib import Path

import pytest

import edge.doctor.storage as storage
from edge.config import load
from edge.doctor.context import Context
from edge.install.layout import Layout
from edge.sim.hall_config import hub_tables, write_hall_toml


def _context(tmp_path: Path) -> Context:
    store = {"store": {"path": str(tmp_path / "hall.db"), "spool_max_bytes": 10_000_000}}
    tables = hub_tables("mqtt://127.0.0.1:1", "mqtt://127.0.0.1:2", "h1", store)
    path = write_hall_toml(tmp_path / "hall.toml", tables)
    return Context(config_path=path, layout=Layout(tmp_path), cfg=load(path))


def test_the_journal_counts_with_its_wal(tmp_path: Path) -> None:
    (tmp_path / "hall.db").write_bytes(b"\0" * 1_000_000)
    (tmp_path / "hall.db-wal").write_bytes(b"\0" * 500_000)
    check = storage.check_disk(_context(tmp_path))
    assert "journal 1.5 MB" in check.detail, check.detail


def test_a_journal_this_user_may_not_read_is_named_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(path: Path) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    # As root (the test machine) no folder refuses a stat: the refusal is simulated.
    monkeypatch.setattr(storage, "journal_bytes", refused)
    check = storage.check_disk(_context(tmp_path))
    assert f"journal not readable by this user (in {tmp_path})" in check.detail, check.detail
