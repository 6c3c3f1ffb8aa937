"""`hall-edge run` checks the whole config as `config check` does, before touching anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def _hall(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copytree(ROOT / "examples" / "rules.d", tmp_path / "rules.d")
    text = (ROOT / "examples" / "hall.toml").read_text(encoding="utf-8")
    assert old in text
    cfg = tmp_path / "hall.toml"
    cfg.write_text(text.replace(old, new, 1), encoding="utf-8")
    return cfg


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            'profile = "rating-pad-modbus"',
            'profile = "rating-pad-modbsu"',
            "devices[3] (pad-2).profile",
        ),
        ("address = 2, counter = 2", 'address = "two", counter = 2', "devices[1] (caller-2)"),
    ],
)
def test_run_refuses_a_bad_config_before_the_journal_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, where: str
) -> None:
    cfg = _hall(tmp_path, old, new)
    assert run_cli(["config", "check", str(cfg)]) == 2
    checked = capsys.readouterr().err
    assert run_cli(["run", "--config", str(cfg)]) == 2
    ran = capsys.readouterr().err
    assert ran == checked, "run reports what config check reports"
    assert ran.startswith(f"error: {cfg}: {where}") and ran.count("\n") == 1, ran
    assert not list(tmp_path.glob("hall.db*")), "the journal was created for a bad config"
