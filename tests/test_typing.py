"""The tests are type-checked like the code: `mypy --strict` covers tests/ (CI's line in
./hall and pyproject's `files`), and tests/support, which every test leans on, is clean."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from tests.support.hall import ROOT


def test_mypy_covers_the_tests_in_ci_and_by_default() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "tests" in cfg["tool"]["mypy"]["files"]
    hall = (ROOT / "hall").read_text()
    [line] = re.findall(r'"\$VENV/bin/mypy"[^\n]*', hall)
    assert line.split()[1:] == ["edge", "cloud", "bench", "tests"], line


def test_tests_support_passes_mypy_strict() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "tests/support"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stdout + out.stderr
