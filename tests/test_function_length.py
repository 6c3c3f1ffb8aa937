"""No function longer than 60 lines (issue 13, item 7; pyproject.toml says why).

Ruff's PLR0915 and C901 bound a function's statements and branches; a function long only
in calls and literals passes both, so its lines are counted here. A file is exempt where
pyproject.toml's ruff per-file-ignores exempt it from PLR0915 (tests/, bench/, and the
files still to be split): one list for both limits.
"""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 60


def _exempt_patterns() -> list[str]:
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    ignores: dict[str, list[str]] = lint.get("per-file-ignores", {})
    return [
        pattern
        for pattern, codes in ignores.items()
        if any("PLR0915".startswith(code) for code in codes)  # "PLR" exempts it too
    ]


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_LINES:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {lines} lines")
    return found


def test_no_function_is_longer_than_60_lines() -> None:
    exempt = _exempt_patterns()
    assert "tests/**" in exempt  # the list is read as intended
    too_long = []
    for top in ("edge", "cloud", "tests", "bench"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not any(fnmatch.fnmatch(rel, pattern) for pattern in exempt):
                too_long += _long_functions(path)
    assert not too_long, "split these functions (at most 60 lines each):\n" + "\n".join(too_long)
