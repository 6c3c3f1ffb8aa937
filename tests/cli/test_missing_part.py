"""A command module missing from an install fails the CLI loudly (issue 13, item 7).

The CLI runs from a copy of the package with `edge/cli/faces.py` deleted, as a broken
install would have it: its commands must not quietly vanish from --help.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import edge

PACKAGE = Path(edge.__file__).parent


def _broken_install(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    # With its __pycache__ (kept valid by copy2's times): no source compiled again. A .pyc
    # in __pycache__ is never imported without its source.
    shutil.copytree(PACKAGE, root / "edge")
    (root / "edge" / "cli" / "faces.py").unlink()
    return root


def _hall_edge(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("HALL_EDGE_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_missing_command_module_is_an_error_not_a_skipped_command(tmp_path: Path) -> None:
    root = _broken_install(tmp_path)
    for args in (["--help"], ["faces", "list"]):
        run = _hall_edge(root, *args)
        assert run.returncode == 70, (args, run.stdout, run.stderr)
        assert run.stderr.splitlines() == [
            "error: hall-edge is incomplete (No module named 'edge.cli.faces'): reinstall it"
        ], args
    # With --debug the traceback shows where the import failed.
    debug = _hall_edge(root, "--debug", "faces", "list")
    assert debug.returncode != 0 and "ModuleNotFoundError" in debug.stderr


def test_the_core_commands_still_run_without_the_parts(tmp_path: Path) -> None:
    # `hall-edge run` (the hub under systemd) loads none of the parts.
    run = _hall_edge(_broken_install(tmp_path), "config", "check", "--help")
    assert run.returncode == 0, run.stderr
    assert "hall-edge config check" in run.stdout
