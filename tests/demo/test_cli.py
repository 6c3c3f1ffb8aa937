"""`hall-edge demo` options and errors, through typer's CliRunner."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edge.cli import demo as demo_cli
from edge.sim.mosquitto import port_in_use

runner = CliRunner()


def test_the_command_and_every_option_have_help_text() -> None:
    command = typer.main.get_command(demo_cli.app)
    assert command.help
    names = set()
    for param in command.params:
        assert getattr(param, "help", None), param.name
        names.add(param.name)
    assert {"duration", "speed", "counters", "workdir", "live", "seed"} <= names


def test_bad_options_give_one_red_line_and_exit_2() -> None:
    result = runner.invoke(demo_cli.app, ["--counters", "1", "--no-live"])
    assert result.exit_code == 2
    assert "--counters: expected 2 to 12 (got 1)" in result.output
    result = runner.invoke(demo_cli.app, ["--duration", "0"])
    assert result.exit_code == 2 and "--duration" in result.output


def test_a_short_run_prints_progress_and_the_summary(tmp_path: Path) -> None:
    args = ["--duration", "6", "--speed", "600", "--no-live", "--workdir", str(tmp_path)]
    result = runner.invoke(demo_cli.app, args)
    assert result.exit_code == 0, result.output
    out = result.output
    for text in (
        "starting brokers",
        "hub ready",
        "| cloud ",
        "stopping brokers",
        "events at the cloud, per type",
        "no gaps",
        "work folder",
    ):
        assert text in out, text
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", out)]
    ports = [int(p) for p in re.findall(r"mqtt://127\.0\.0\.1:(\d+)", out)]
    assert len(pids) == 2 and len(ports) == 2
    assert not any(port_in_use(port) for port in ports)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
