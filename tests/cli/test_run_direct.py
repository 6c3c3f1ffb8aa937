"""`hall-edge run` without typer's option handling (edge/cli/run_direct.py): the same
options as the typer command, the same errors, and no pydantic in the hub's process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from edge.cli import app
from edge.cli.run_direct import OPTIONS, direct_run
from tests.support.hall import ROOT


def test_the_direct_options_are_the_typer_commands() -> None:
    run = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    typer_options = {o for p in run.params for o in p.opts}
    assert typer_options - {"--help"} == set(OPTIONS)


def test_anything_but_plain_options_goes_through_typer() -> None:
    assert direct_run(["run", "-c", "x.toml", "--log-level=debug"]) is not None
    assert direct_run(["run"]) is not None
    for argv in (
        ["run", "--help"],
        ["run", "-c"],
        ["run", "-c", "--log-level"],
        ["run", "--log-level", "loud"],
        ["run", "-c", "a.toml", "--config", "b.toml"],
        ["run", "--colour"],
        ["check", "-c", "x.toml"],
    ):
        assert direct_run(argv) is None, argv


def test_direct_run_reports_like_typer_and_loads_no_pydantic(tmp_path: Path) -> None:
    bad = tmp_path / "hall.toml"
    bad.write_text("[hall]\nid = 'h/1'\n", "utf-8")
    code = (
        "import sys; from edge.cli import run_cli; "
        f"rc = run_cli(['run', '-c', {str(bad)!r}]); "
        "print(rc, any(m.startswith('pydantic') for m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.stdout.split() == ["2", "False"], done.stdout + done.stderr
    typer_path = subprocess.run(
        # --debug first: not the plain form, so typer runs it
        [sys.executable, "-m", "edge.cli", "--debug", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.stderr == typer_path.stderr and str(bad) in done.stderr
