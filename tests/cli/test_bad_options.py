"""No command line prints a traceback: every command and option of `hall-edge`, fed bad values.

The typer tree (edge.cli.app) is walked; each command gets an unknown option, and each of
its options and arguments the bad values its type calls for: not a number, not one of the
choices, an empty string, a file that does not exist, a folder or a file of binary junk
where a file is read, a path under a regular file where one is written. Each must end with
a non-zero exit code (2 for a usage mistake), one `error:` line and no traceback.

The cases run in-process through `edge.cli.run_cli` (what the `hall-edge` script runs), in
a temp hall folder holding examples/hall.toml, so nothing found there is the machine's.
"""

from __future__ import annotations

import shutil
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from edge.cli import app, run_cli

ROOT = Path(__file__).resolve().parents[2]

# Paths a command writes or creates rather than reads: a missing one is made, so their bad
# value is a path under a regular file, which nothing can create.
WRITTEN = {"devices_out", "workdir", "link_dir", "root"}  # root: a staged tree, made
# Values of required parameters, so that the parameter under test is the one that is bad.
REQUIRED = {
    "hall-edge config check": ["hall.toml"],
    "hall-edge rules trace": ["call-announce"],
    "hall-edge faces erase": ["c-1"],
    "hall-edge faces enroll": ["--image", "hall.toml"],
}


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    why: str
    usage: bool  # a usage mistake: exit code 2 exactly


def command_tree() -> Iterator[tuple[list[str], Any]]:
    stack: list[tuple[list[str], Any]] = [([], typer.main.get_command(app))]
    while stack:
        words, cmd = stack.pop()
        yield words, cmd
        for name, sub in sorted((getattr(cmd, "commands", None) or {}).items()):
            stack.append(([*words, name], sub))


def python_type(annotation: Any) -> Any:
    """`int` of `int`, `int | None`, `list[int] | None`."""
    while typing.get_args(annotation):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0]
    return annotation


def bad_values(param: Any, hall: Path) -> Iterator[tuple[str, str, bool]]:
    """(value, why, is a usage error) for one option or argument."""
    kind = python_type(param.type_descriptor.annotation)
    yield "", "an empty value", True
    if isinstance(kind, type) and issubclass(kind, bool):
        return
    if kind in (int, float):
        yield "abc", "not a number", True
    elif isinstance(kind, type) and issubclass(kind, str) and kind is not str:
        yield "bogus", "not one of the choices", True  # an enum
    elif kind is Path and param.name in WRITTEN:
        yield str(hall / "hall.toml" / "x"), "a path under a regular file", False
    elif kind is Path:
        yield str(hall / "missing.toml"), "a file that does not exist", False
        yield str(hall / "junk.bin"), "a file of binary junk", False
        if param.name not in ("files", "extra_dir", "profiles_dir"):  # folders are fine there
            yield str(hall / "rules.d"), "a folder where a file is read", False


def cases(hall: Path) -> Iterator[Case]:
    for words, cmd in command_tree():
        path = " ".join(["hall-edge", *words])
        required = REQUIRED.get(path, [])
        groups_only = getattr(cmd, "commands", None) and not getattr(
            cmd, "invoke_without_command", False
        )
        if not groups_only:
            yield Case((*words, *required, "--no-such-option"), f"{path}: unknown option", True)
        for param in cmd.params:
            if param.name == "debug":
                continue
            for value, why, usage in bad_values(param, hall):
                if param.param_type_name == "argument":
                    argv = [*words, value]
                elif getattr(param, "is_flag", False):
                    argv = [*words, *required, f"{param.opts[0]}="]  # a flag takes no value
                else:
                    argv = [*words, *required, param.opts[0], value]  # the last one counts
                yield Case(tuple(argv), f"{path} {param.opts[0]}: {why}", usage)


@pytest.fixture
def hall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(ROOT / "examples" / "hall.toml", tmp_path / "hall.toml")
    shutil.copytree(ROOT / "examples" / "rules.d", tmp_path / "rules.d")
    (tmp_path / "junk.bin").write_bytes(b"\xff\xfe\x00\x9f junk \x00\xc3")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("HALL_EDGE_DEBUG", raising=False)
    return tmp_path


@pytest.mark.timeout(120)
def test_no_bad_command_line_prints_a_traceback(
    hall: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    every = list(cases(hall))
    assert len(every) > 100, len(every)
    commands = {c.why.split(":")[0] for c in every}
    assert {"hall-edge run", "hall-edge kpi", "hall-edge simulate hall"} <= commands
    wrong: list[str] = []
    for case in every:
        code = run_cli(list(case.argv))
        out, err = capsys.readouterr()
        lines = [line for line in err.splitlines() if line.strip()]
        problems = []
        if code == 0 or (case.usage and code != 2):
            problems.append(f"exit code {code}")
        if "Traceback" in out + err or "internal error" in err:
            problems.append("a traceback or an internal error")
        if case.argv[0] == "doctor" and not case.usage and code == 1 and "✗" in out:
            pass  # the doctor's answer to a broken file is its own ✗ line for that check
        elif len(lines) != 1 or not lines[0].startswith("error: "):
            problems.append(f"stderr is not one error line: {err[:300]!r}")
        if problems:
            wrong.append(f"{case.why} {list(case.argv)}: {'; '.join(problems)}")
    assert not wrong, "\n".join(wrong)
    assert not (hall / "hall.db").exists(), "a bad command line created the journal"


def test_a_bug_is_one_line_and_its_traceback_shows_with_debug(
    hall: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug stands in: the command's code raises what no handler expects.
    import edge.cli.core as core  # noqa: PLC0415

    def broken(*_: object) -> None:
        raise KeyError("no such thing")

    monkeypatch.setattr(core, "show_device_status", broken)
    assert run_cli(["status"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("error: internal error in hall-edge (KeyError") and "--debug" in err
    assert "Traceback" not in err
    with pytest.raises(KeyError):
        run_cli(["--debug", "status"])
