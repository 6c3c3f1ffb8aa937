"""`hall-edge`: the command line.

The plain `hall-edge run` (the hub under systemd) is started without typer or rich
(edge/cli/run_direct.py, edge/cli/hub_run.py): they would be 4.7 MB of the hub's memory.
Everything else goes through the typer app of edge/cli/typer_app.py, imported only then.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from edge.cli.hub_run import err_line, guarded
from edge.cli.run_direct import direct_run


def run_cli(argv: Sequence[str]) -> int:
    """Run one command line and return its exit code; what goes wrong is one `error:` line.

    Exit codes: 0 done, 1 the command failed (a journal, a broker, a file it could not
    use), 2 a usage or config mistake (nothing was started), 70 a bug in hall-edge or a
    module of it missing: the traceback is shown only with `--debug` (or HALL_EDGE_DEBUG=1).
    """
    debug = _debug(argv)
    empty = _empty_value(argv)
    if empty is not None:
        err_line(f"hall-edge: {empty}: no option or argument of hall-edge takes an empty value")
        return 2
    fast = direct_run(argv)
    if fast is not None:
        return guarded(fast, debug)
    from edge.cli.typer_app import run_typer  # noqa: PLC0415 - see the module's docstring

    return run_typer(argv, debug)


def _debug(argv: Sequence[str]) -> bool:
    before_command = []
    for arg in argv:
        if not arg.startswith("-"):
            break
        before_command.append(arg)
    return "--debug" in before_command or os.environ.get("HALL_EDGE_DEBUG", "") not in ("", "0")


def _empty_value(argv: Sequence[str]) -> str | None:
    """The option (or argument position) given an empty value, if any: `--port ""` would
    otherwise mean "." for a path or "nothing" for a name, and run on it."""
    for i, arg in enumerate(argv):
        if arg.startswith("--") and arg.endswith("=") and len(arg) > 3:
            return arg[:-1]
        if not arg.strip():
            before = argv[i - 1] if i > 0 else ""
            return before if before.startswith("-") else f"argument {i + 1}"
    return None


def main() -> None:
    sys.exit(run_cli(sys.argv[1:]))


def __getattr__(name: str) -> Any:
    # The typer app and its tables (tests, docs), imported on first use.
    if name in ("app", "build_app", "PARTS", "CORE"):
        from edge.cli import typer_app  # noqa: PLC0415

        return getattr(typer_app, name)
    raise AttributeError(name)


__all__ = ["main", "run_cli"]
