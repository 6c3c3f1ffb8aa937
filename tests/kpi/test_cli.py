"""`hall-edge kpi`: tables, CSV and JSON, errors, and where the events come from."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path

import msgspec
import pytest
import typer
from typer.testing import CliRunner

import edge.cli.kpi as kpi_cli
from edge.config import load
from edge.config.kpi import KpiSection
from edge.kpi import choose_model_window, day_report, month_report
from edge.model import JournaledEvent
from edge.sim.month import SHANGHAI, build_month
from edge.sim.month_truth import HallMonth
from tests.kpi.journal import HubJournal, as_new_events

CONFIG = """
[hall]
id = "h1"
[hall_broker]
url = "mqtt://127.0.0.1:1883"
[cloud]
url = "mqtt://127.0.0.1:1883"
[kpi]
min_ratings = 20
"""

runner = CliRunner()


def envelope(e: JournaledEvent) -> bytes:
    return msgspec.json.encode(
        {
            "specversion": "1.0",
            "id": e.id,
            "type": e.type,
            "source": f"/halls/h1/devices/{e.device_id}",
            "time": e.time.isoformat(),
            "deviceid": e.device_id,
            "hallseq": e.seq,
            "data": dict(e.data),
        }
    )


@pytest.fixture(scope="module")
def hall() -> HallMonth:
    return build_month(seed=9, counters=4, tickets_per_day=30)


@pytest.fixture
def files(tmp_path: Path, hall: HallMonth) -> tuple[Path, Path]:
    config = tmp_path / "hall.toml"
    config.write_text(CONFIG, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(envelope(e) for e in hall.events) + b"\n")
    return config, events


def invoke(*args: str | Path) -> typer.testing.Result:
    return runner.invoke(kpi_cli.app, [str(a) for a in args])


def test_day_table(files: tuple[Path, Path], hall: HallMonth) -> None:
    config, events = files
    result = invoke("--day", "2026-11-27", "-c", config, "--events", events)
    assert result.exit_code == 0, result.output
    out = result.stdout
    rep = day_report(hall.events, date(2026, 11, 27), SHANGHAI, _kpi(config))
    assert "2026-11-27 (Asia/Shanghai)" in out and "Counters ranked" in out
    completed = next(line for line in out.splitlines() if "办结 completed" in line)
    assert completed.split("│")[2].strip() == str(rep.hall.completed)
    ranked = [line.split("│")[2].strip() for line in _rows(out, "Counters ranked")]
    assert ranked == [f.key for f in rep.counters]
    assert "★" not in out  # the title is monthly


def test_month_table_marks_the_model_counter(files: tuple[Path, Path], hall: HallMonth) -> None:
    config, events = files
    result = invoke("--month", "2026-11", "--config", config, "--events", events)
    assert result.exit_code == 0, result.output
    rep = month_report(hall.events, "2026-11", SHANGHAI, _kpi(config))
    window = choose_model_window(rep, _kpi(config))
    assert window is not None
    rows = _rows(result.stdout, "Counters ranked")
    assert rows[0].split("│")[2].strip() == f"★ {window.counter}"
    assert sum("★" in r for r in rows) == len(window.counters)
    assert f"标兵窗口 model counter: {window.counter}" in result.stdout
    assert "Days" in result.stdout and "2026-11-30" in result.stdout


def test_month_csv(files: tuple[Path, Path], hall: HallMonth) -> None:
    config, events = files
    result = invoke("--month", "2026-11", "-c", config, "--events", events, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    rep = month_report(hall.events, "2026-11", SHANGHAI, _kpi(config))
    window = choose_model_window(rep, _kpi(config))
    assert window is not None
    hall_row = next(r for r in rows if r["scope"] == "hall")
    assert int(hall_row["completed"]) == rep.hall.completed
    assert float(hall_row["satisfaction_rate"]) == pytest.approx(rep.hall.satisfaction_rate)
    assert int(hall_row["payments_total"]) == rep.payments.total
    assert [r["key"] for r in rows if r["scope"] == "day"] == [d.day.isoformat() for d in rep.days]
    assert [r["key"] for r in rows if r["model"] == "1"] == list(window.counters)
    staff_rows = [r for r in rows if r["scope"] == "staff"]
    assert {r["key"] for r in staff_rows} == {f.key for f in rep.staff}
    assert all(r["payments_total"] == "" for r in staff_rows)


def test_day_json_and_month_json(files: tuple[Path, Path], hall: HallMonth) -> None:
    config, events = files
    day = json.loads(
        invoke("--day", "2026-11-03", "-c", config, "--events", events, "--format", "json").stdout
    )
    assert day["period"] == "day" and day["day"] == "2026-11-03"
    month = json.loads(
        invoke("--month", "2026-11", "-c", config, "--events", events, "--format", "json").stdout
    )
    window = choose_model_window(
        month_report(hall.events, "2026-11", SHANGHAI, _kpi(config)), _kpi(config)
    )
    assert window is not None
    assert month["model_window"]["counter"] == window.counter
    assert month["hall"]["completed"] == sum(d["hall"]["completed"] for d in month["days"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--day", "2026-11-31"], "day must be a date YYYY-MM-DD"),
        (["--month", "11/2026"], "month must be YYYY-MM"),
        (["--day", "2026-11-27", "--month", "2026-11"], "give one of"),
    ],
)
def test_bad_periods_exit_2_with_one_line(
    files: tuple[Path, Path], args: list[str], message: str
) -> None:
    config, events = files
    result = invoke(*args, "-c", config, "--events", events)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_without_day_or_month_it_is_todays_report(files: tuple[Path, Path]) -> None:
    config, events = files
    result = invoke("-c", config, "--events", events, "--format", "json")
    assert result.exit_code == 0, result.output
    today = datetime.now(SHANGHAI).date().isoformat()  # the hall's today, not the machine's
    assert json.loads(result.stdout)["day"] == today


def test_config_and_events_errors(files: tuple[Path, Path], tmp_path: Path) -> None:
    config, events = files
    missing = invoke("--day", "2026-11-27", "-c", tmp_path / "nope.toml", "--events", events)
    assert missing.exit_code == 2 and "nope.toml" in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1"}\n', encoding="utf-8")
    broken = invoke("--day", "2026-11-27", "-c", config, "--events", bad)
    assert broken.exit_code == 2 and "bad.jsonl:1" in broken.stderr
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(CONFIG.replace("min_ratings = 20", "closing_time = '18h'"), encoding="utf-8")
    result = invoke("--day", "2026-11-27", "-c", wrong, "--events", events)
    assert (
        result.exit_code == 2 and "closing_time" in result.stderr and "wrong.toml" in result.stderr
    )


def test_reads_the_hub_journal_named_by_the_config(
    files: tuple[Path, Path], hall: HallMonth
) -> None:
    config, _events = files
    missing = invoke("--day", "2026-11-27", "-c", config)
    assert missing.exit_code == 2 and "does not exist yet" in missing.stderr
    journal = HubJournal(config.parent / "hall.db")  # [store] path defaults to hall.db
    journal.append(as_new_events(hall.events))
    journal.close()
    result = invoke("--day", "2026-11-27", "-c", config, "--format", "json")
    assert result.exit_code == 0, result.output
    expected = day_report(hall.events, date(2026, 11, 27), SHANGHAI, _kpi(config)).to_dict()
    assert json.loads(result.stdout) == expected
    month = invoke("--month", "2026-11", "-c", config)
    assert month.exit_code == 0 and "标兵窗口" in month.stdout


def test_every_option_has_help() -> None:
    command = typer.main.get_command(kpi_cli.app)
    assert command.help
    for param in command.params:
        assert getattr(param, "help", None), param.name


def _kpi(config: Path) -> KpiSection:
    return load(config).kpi


def _rows(out: str, title: str) -> list[str]:
    """Body rows of the rich table under `title`."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line)
    body = []
    started = False
    for line in lines[start + 1 :]:
        if line.startswith("┡"):
            started = True
            continue
        if started:
            if line.startswith("└"):
                break
            body.append(line)
    return body
