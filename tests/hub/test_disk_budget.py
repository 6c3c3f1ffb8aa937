"""`[store] disk_max_bytes`: the journal file's bound, checked at load and at start."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from edge.config import parse
from edge.errors import ConfigError
from edge.hub.build import build_hub


def _raw(tmp_path: Path, **store: Any) -> dict[str, Any]:
    return {
        "hall": {"id": "h1"},
        "hall_broker": {"url": "mqtt://127.0.0.1:1"},
        "cloud": {"url": "mqtt://127.0.0.1:2"},
        "store": {"path": str(tmp_path / "hall.db"), **store},
    }


def test_a_budget_below_one_mib_is_refused_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse(_raw(tmp_path, disk_max_bytes=4096), "hall.toml")
    assert err.value.key == "store.disk_max_bytes"
    assert "hall.toml: store.disk_max_bytes: expected at least 1048576 bytes" in str(err.value)


def test_the_budget_caps_the_journal_file(tmp_path: Path) -> None:
    cfg = parse(_raw(tmp_path, disk_max_bytes=2 << 20), "hall.toml")
    hub = asyncio.run(build_hub(cfg))
    try:
        pages = hub.journal.conn.execute("PRAGMA max_page_count").fetchone()[0]
        page = hub.journal.conn.execute("PRAGMA page_size").fetchone()[0]
        assert pages * page == 2 << 20
        # Without the key the file may grow as far as SQLite allows.
        other = sqlite3.connect(tmp_path / "other.db")
        assert other.execute("PRAGMA max_page_count").fetchone()[0] > pages
        other.close()
    finally:
        hub.close()


def test_a_budget_larger_than_the_free_space_is_a_warning_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = parse(_raw(tmp_path, disk_max_bytes=1 << 60), "hall.toml")  # an exabyte
    with caplog.at_level(logging.WARNING, logger="edge.hub.startup"):
        hub = asyncio.run(build_hub(cfg))
    hub.close()
    [warning] = [r.getMessage() for r in caplog.records if "disk_max_bytes" in r.getMessage()]
    assert "hall.toml: store.disk_max_bytes = 1152921504606846976" in warning
    assert "the disk will fill before the budget" in warning
    caplog.clear()
    cfg = parse(_raw(tmp_path, disk_max_bytes=1 << 20), "hall.toml")
    with caplog.at_level(logging.WARNING, logger="edge.hub.startup"):
        hub = asyncio.run(build_hub(cfg))
    hub.close()
    assert not [r for r in caplog.records if "disk_max_bytes" in r.getMessage()]
