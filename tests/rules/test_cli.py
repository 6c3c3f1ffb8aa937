"""`hall-edge rules check | test | trace`, through typer's CliRunner."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import typer
from typer.testing import CliRunner

from edge.cli import rules as rules_cli
from edge.rules.engine import RuleEngine
from edge.rules.loader import load_ruleset
from tests.rules.helpers import GROUPS, TZ, Feed, write

runner = CliRunner()

RULE = """
rules:
  - id: low
    description: low rating
    trigger: rating.submitted
    when: data.level <= 2
    actions:
      - alert: {message: "{data.counter}号窗口差评"}
      - command: {device: "group:hall-screens", name: display.flash}
"""


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "hall.toml"
    path.write_text(
        f"""
[hall]
id = "h1"
timezone = "Asia/Shanghai"
[hall_broker]
url = "mqtt://127.0.0.1:1"
[cloud]
url = "mqtt://127.0.0.1:2"
[store]
path = "journal.db"
[[devices]]
id = "screen-1"
profile = "x"
group = "hall-screens"
{extra}
""",
        encoding="utf-8",
    )
    return path


def test_every_command_has_help_text() -> None:
    group = typer.main.get_command(rules_cli.app)
    assert group.help
    commands = group.commands  # type: ignore[attr-defined]
    assert set(commands) == {"check", "test", "trace"}
    for name, command in commands.items():
        assert command.help, name
        for param in command.params:
            assert getattr(param, "help", None), f"{name} {param.name}"


def test_check_ok_and_error_exit_code(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", RULE)
    result = runner.invoke(rules_cli.app, ["check", str(good)])
    assert result.exit_code == 0, result.output
    assert "OK 1 rules" in result.output and "low: low rating" in result.output
    bad = write(tmp_path, "bad.yaml", RULE.replace("data.level <= 2", "lvl <= 2"))
    result = runner.invoke(rules_cli.app, ["check", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml: line 5: rule low: when" in result.stderr
    result = runner.invoke(rules_cli.app, ["check"])
    assert result.exit_code == 0 and "11 rules" in result.output  # the default pack


def test_test_shows_firings_without_side_effects(tmp_path: Path) -> None:
    rule = write(tmp_path, "r.yaml", RULE)
    ev = json.dumps(
        {"type": "rating.submitted", "device_id": "pad-3", "data": {"counter": 3, "level": 1}}
    )
    quiet = json.dumps({"type": "rating.submitted", "data": {"counter": 3, "level": 5}})
    result = runner.invoke(rules_cli.app, ["test", str(rule), "--event", ev, "--event", quiet])
    assert result.exit_code == 0, result.output
    assert "#1 rating.submitted from pad-3" in result.output
    assert "3号窗口差评" in result.output
    assert "group:hall-screens" in result.output  # no config: groups stay symbolic
    assert "no rule fired" in result.output


def test_test_with_config_resolves_groups_and_json(tmp_path: Path) -> None:
    rule = write(tmp_path, "r.yaml", RULE)
    cfg = config(tmp_path, '[rules]\nbuiltin = false\npaths = ["r.yaml"]\n')
    events = tmp_path / "events.jsonl"
    events.write_text(
        "# a comment\n"
        + json.dumps(
            {
                "type": "rating.submitted",
                "time": "2026-11-27T09:00:00+08:00",
                "data": {"counter": 2, "level": 2},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    del rule
    result = runner.invoke(
        rules_cli.app, ["test", "--config", str(cfg), "--events", str(events), "--json"]
    )
    assert result.exit_code == 0, result.output
    (step,) = [json.loads(line) for line in result.output.splitlines()]  # JSON lines
    assert step["forward"] is True
    assert {
        "command": "display.flash",
        "device_id": "screen-1",
        "args": {},
        "origin": "rule:low",
    } in step["outputs"]
    assert step["firings"][0]["rule"] == "low" and step["firings"][0]["result"] == "fired"
    assert step["firings"][0]["at"] == "2026-11-27T09:00:00+08:00"


def test_test_advance_shows_debounced_alerts() -> None:
    ev = json.dumps({"type": "device.offline", "device_id": "pad-3"})
    result = runner.invoke(
        rules_cli.app, ["test", "--builtin", "--event", ev, "--advance", "11m", "--json"]
    )
    assert result.exit_code == 0, result.output
    steps = [json.loads(line) for line in result.output.splitlines()]
    assert steps[0]["firings"][0]["result"] == "pending"
    assert steps[-1]["event"] is None
    assert steps[-1]["outputs"][0]["data"]["message"].startswith("设备pad-3已离线超过10分钟")


def test_test_reports_bad_input(tmp_path: Path) -> None:
    result = runner.invoke(rules_cli.app, ["test", "--builtin", "--event", "{not json"])
    assert result.exit_code == 2 and "not JSON" in result.stderr
    result = runner.invoke(rules_cli.app, ["test", "--builtin"])
    assert result.exit_code == 2 and "--event" in result.stderr
    result = runner.invoke(rules_cli.app, ["test", "--builtin", "--event", '{"data": {}}'])
    assert result.exit_code == 2 and "type" in result.stderr


def _hub_db(tmp_path: Path) -> None:
    engine = RuleEngine(load_ruleset([], {}, builtin=True), TZ, GROUPS)
    feed = Feed()
    engine.evaluate(feed("rating.submitted", {"counter": 3, "level": 1}))
    engine.evaluate(feed("rating.submitted", {"counter": 4, "level": 2}, at=60))
    conn = sqlite3.connect(tmp_path / "journal.db")
    conn.execute("CREATE TABLE rule_state(id INTEGER PRIMARY KEY CHECK (id=1), blob BLOB)")
    conn.execute("INSERT INTO rule_state(id, blob) VALUES (1, ?)", (engine.dump_state(),))
    conn.commit()
    conn.close()


def test_trace_reads_the_hub_state_from_the_journal(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    _hub_db(tmp_path)
    wide = {"COLUMNS": "250"}
    result = runner.invoke(rules_cli.app, ["trace", "rating-low", "--config", str(cfg)], env=wide)
    assert result.exit_code == 0, result.output
    assert "3号窗口收到不满意评价（等级1）" in result.output
    assert "rating-low: last 2 firings" in result.output
    result = runner.invoke(
        rules_cli.app, ["trace", "rating-low", "-c", str(cfg), "--json", "-n", "1"]
    )
    (line,) = result.output.splitlines()  # JSON lines: one firing per line
    entry = json.loads(line)
    assert entry["event"]["seq"] == 2 and entry["at"] == "2026-11-27T09:01:00+08:00"


def test_trace_unknown_rule_and_missing_db(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    result = runner.invoke(rules_cli.app, ["trace", "rating-low", "--config", str(cfg)])
    assert result.exit_code == 2 and "store.path: the journal" in result.stderr
    assert "does not exist yet" in result.stderr
    _hub_db(tmp_path)
    result = runner.invoke(rules_cli.app, ["trace", "nope", "--config", str(cfg)])
    assert result.exit_code == 1 and "unknown rule nope" in result.stderr
    assert "rating-low" in result.stderr  # the hall's rule ids are named
    result = runner.invoke(
        rules_cli.app, ["trace", "nope", "--config", str(tmp_path / "missing.toml")]
    )
    assert result.exit_code == 2 and "missing.toml" in result.stderr
