"""Listings fit an 80-column terminal without cutting a value, and every one has
`--format table|json|csv` (json: one object per line)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

from edge.cli import run_cli
from edge.config import load
from edge.drivers.profiles import load_profiles
from edge.kpi import day_report
from edge.model import Event
from edge.sim.month import SHANGHAI, build_month
from edge.store import Journal

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.copy(ROOT / "examples" / "hall.toml", tmp_path / "hall.toml")
    shutil.copytree(ROOT / "examples" / "rules.d", tmp_path / "rules.d")
    cfg = load(tmp_path / "hall.toml")
    journal = Journal(tmp_path / "hall.db", cfg.hall.id, SHANGHAI, synchronous="normal")
    journal.write_batch([Event("rating.submitted", "pad-1", {"level": 5, "counter": 1})])
    journal.device_state("feedback-1", True)
    journal.device_state("caller-2", False, "no reply from bus address 2")
    journal.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    yield tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = run_cli(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def fits(out: str, width: int = 80) -> None:
    wide = [line for line in out.splitlines() if len(line) > width]
    assert not wide, wide[:3]
    assert "…" not in out, "a value was cut"


LISTINGS = [
    ["status"],
    ["devices"],
    ["outbox"],
    ["deadletters"],
    ["profiles", "list"],
    ["profiles", "check"],
    ["faces", "list"],
    ["faces", "erasures"],
    ["rules", "trace", "rating-low"],
    ["devices", "scan", "--by-id-dir", "/nonexistent", "--sys-tty", "/nonexistent"],
]


@pytest.mark.parametrize("argv", LISTINGS, ids=[" ".join(a[:2]) for a in LISTINGS])
def test_every_listing_has_the_three_formats(
    hall: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    fits(run(capsys, *argv))
    lines = run(capsys, *argv, "--format", "json").splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines)
    table = list(csv.reader(io.StringIO(run(capsys, *argv, "--format", "csv"))))
    if table:  # rows of csv: a header, then one row per object of the JSON lines
        assert len(table) == len(lines) + 1 and all(len(r) == len(table[0]) for r in table)


def test_status_shows_whole_times_and_ids_at_80_columns(
    hall: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(capsys, "status")
    fits(out)
    rows = [json.loads(line) for line in run(capsys, "status", "--format", "json").splitlines()]
    pad = next(r for r in rows if r["device"] == "pad-1")
    assert pad["events"] == 1 and len(pad["last_event"]) == len("2026-12-03 09:41:07")
    assert pad["last_event"] in out, "the time is shown whole"
    for row in rows:
        assert row["device"] in out


def test_profiles_list_shows_whole_model_names_at_80_columns(
    hall: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(capsys, "profiles", "list")
    fits(out)
    for name in load_profiles(None):
        assert f" {name} " in out, name


def test_kpi_tables_fit_80_columns_with_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    month = build_month(seed=9, counters=4, tickets_per_day=30)
    events = tmp_path / "events.jsonl"
    lines = []
    for e in month.events:
        envelope: dict[str, Any] = {"id": e.id, "type": e.type, "time": e.time.isoformat()}
        envelope |= {"deviceid": e.device_id, "hallseq": e.seq, "data": dict(e.data)}
        envelope |= {"specversion": "1.0", "source": f"/halls/h1/devices/{e.device_id}"}
        lines.append(msgspec.json.encode(envelope))
    events.write_bytes(b"\n".join(lines) + b"\n")
    shutil.copy(ROOT / "examples" / "hall.toml", tmp_path / "hall.toml")
    monkeypatch.setenv("COLUMNS", "80")
    cfg = str(tmp_path / "hall.toml")
    out = run(capsys, "kpi", "--day", "2026-11-27", "-c", cfg, "--events", str(events))
    fits(out)
    report = day_report(month.events, date(2026, 11, 27), SHANGHAI, load(cfg).kpi)
    for counter in report.counters:  # every counter's row, its figures whole
        row = next(line for line in out.splitlines() if f"│{counter.key} " in line)
        assert str(counter.completed) in row
    fits(run(capsys, "kpi", "--month", "2026-11", "-c", cfg, "--events", str(events)))
    as_json = run(
        capsys, "kpi", "--month", "2026-11", "-c", cfg, "--events", str(events), "--format", "json"
    )
    assert len(as_json.splitlines()) == 1 and json.loads(as_json)["month"] == "2026-11"
    monkeypatch.setenv("COLUMNS", "200")  # wide: one table per group, as before
    wide = run(capsys, "kpi", "--day", "2026-11-27", "-c", cfg, "--events", str(events))
    assert "Counters ranked (1/2)" in out and "Counters ranked (1/2)" not in wide
