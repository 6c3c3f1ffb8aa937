"""The code's shape, kept (issue #13): exceptions under one root, modules named for what
they hold, the benchmarks standing on the package alone."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import edge
from edge.errors import EdgeError

ROOT = Path(__file__).resolve().parent.parent

# Exceptions that must keep a third-party base for the library that raises them.
THIRD_PARTY_BASES = {"edge.rules.conditions.MissingField"}  # simpleeval's lookup protocol


def _edge_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(edge.__path__, "edge."):
        if info.name.startswith("edge.faces") or info.name.endswith("__main__"):
            continue  # dlib (checked by source below); __main__ runs the CLI
        names.append(info.name)
    return names


def test_every_exception_of_the_package_is_an_edge_error() -> None:
    strays = []
    for name in _edge_modules():
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == name
                and not issubclass(obj, EdgeError)
                and f"{name}.{obj.__name__}" not in THIRD_PARTY_BASES
            ):
                strays.append(f"{name}.{obj.__name__}")
    assert len(_edge_modules()) > 80
    assert not strays, f"exceptions outside the EdgeError root: {strays}"


def test_the_face_package_raises_edge_errors_too() -> None:
    strays = []
    for path in (ROOT / "edge" / "faces").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b) for b in node.bases}
                if any(b.endswith(("Error", "Exception")) for b in bases) and not any(
                    b.endswith(("EdgeError", "ConfigError", "StoreError", "CommandError"))
                    for b in bases
                ):
                    strays.append(f"{path.name}:{node.name}")
    assert not strays, strays


def test_no_module_is_named_for_how_it_is_wired() -> None:
    parts = sorted(p.name for p in (ROOT / "edge").rglob("*_part.py"))
    assert not parts, f"modules named *_part.py: {parts} (name them for what they hold)"


_IMPORTERS = {"import_module", "__import__"}  # importlib.import_module, builtins.__import__


def _leading_text(node: ast.expr) -> str:
    """The literal start of a string argument: a constant, or an f-string's first part."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        return _leading_text(node.values[0])
    return ""


def _imports_tests(node: ast.AST) -> bool:
    """An import statement of `tests`, or a call importing it by name: a way round the
    statement that is the same dependency (bench/fleet.py once loaded tests.support so)."""
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] == "tests"
    if isinstance(node, ast.Import):
        return any(a.name.split(".")[0] == "tests" for a in node.names)
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        text = _leading_text(node.args[0])
        return name in _IMPORTERS and (text == "tests" or text.startswith("tests."))
    return False


def test_the_benchmarks_do_not_import_the_tests() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in (ROOT / "bench").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.stmt | ast.expr) and _imports_tests(node)
    ]
    assert not offenders, f"bench/ imports tests/: {offenders}"


def test_the_import_check_sees_imports_by_name() -> None:
    # The check above must catch each way of naming the tests, and nothing else.
    caught = [
        "import tests.support.hall",
        "from tests.support import hall",
        "importlib.import_module('tests.support.fleet_sim')",
        "import_module('tests.support.waits').settles",
        "__import__('tests')",
        "importlib.import_module(f'tests.support.{name}')",
    ]
    passed = ["import edge.sim.fleet", "importlib.import_module('edge.sim.fleet')", "f('tests.x')"]
    for src in caught:
        assert any(_imports_tests(n) for n in ast.walk(ast.parse(src))), src
    for src in passed:
        assert not any(_imports_tests(n) for n in ast.walk(ast.parse(src))), src


def test_the_hub_does_not_load_what_only_the_cli_uses() -> None:
    """sqlite-utils (the CLI's listings) weighs 25 MB of memory: the hub never imports it."""
    code = "import sys, edge.hub.build; print('sqlite_utils' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
