"""`hall-edge`: the commands. No logic of its own: each command calls into the package."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

# Typer 0.2x carries its own copy of click: its usage errors are these, not click's.
from typer._click import exceptions as click_errors

from edge.cli.common import err_line
from edge.cli.core import register_core
from edge.cli.run_direct import direct_run
from edge.errors import ConfigError, EdgeError

# Sub-apps of the parts built on the core; each module defines `app`. They are mounted only
# when needed: `hall-edge run` (the hub under systemd) would otherwise load numpy, Pillow
# and cryptography for the face commands it never runs (≈30 MB of its RSS).
PARTS = {
    "profiles": "edge.cli.profiles",
    "devices": "edge.cli.devices",
    "simulate": "edge.cli.simulate",
    "demo": "edge.cli.demo",
    "rules": "edge.cli.rules",
    "kpi": "edge.cli.kpi",
    "faces": "edge.cli.faces",
    "users": "edge.cli.users",
    "doctor": "edge.cli.doctor",
    # "module:attribute" when a module holds more than one part's app.
    "install": "edge.cli.install",
    "uninstall": "edge.cli.install:uninstall_app",
    "broker": "edge.cli.install:broker_app",
}


# The core commands, which need none of the parts.
CORE = {"run", "config", "journal", "outbox", "deadletters", "status"}


def build_app(parts: list[str] | None = None) -> typer.Typer:
    """The CLI with the named parts mounted (all of them when `parts` is None)."""
    root = typer.Typer(
        help="hall-edge: the edge hub and queue system of a power-utility service hall.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @root.callback()
    def _options(
        debug: Annotated[
            bool,
            typer.Option(
                "--debug",
                help="A bug (an unexpected error) shows its Python traceback instead of "
                "one line (also HALL_EDGE_DEBUG=1).",
            ),
        ] = False,
    ) -> None:
        """hall-edge: the edge hub and queue system of a power-utility service hall."""

    register_core(root)
    for name in PARTS if parts is None else parts:
        # A part's module that is missing is a broken install: it raises here. Skipping it
        # would drop its commands from --help and call them "no such command".
        module, _, attr = PARTS[name].partition(":")
        root.add_typer(getattr(importlib.import_module(module), attr or "app"), name=name)
    return root


def _parts(argv: Sequence[str]) -> list[str] | None:
    words = [a for a in argv if not a.startswith("-")]
    first = words[0] if words else None
    if first in PARTS:
        return [first]
    if first is not None and first in CORE:
        return []
    return None  # help and mistakes: show everything


def _debug(argv: Sequence[str]) -> bool:
    before_command = []
    for arg in argv:
        if not arg.startswith("-"):
            break
        before_command.append(arg)
    return "--debug" in before_command or os.environ.get("HALL_EDGE_DEBUG", "") not in ("", "0")


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
    call = _command(argv, debug)
    if isinstance(call, int):
        return call
    try:
        result = call()
    except typer.Exit as exc:
        return exc.exit_code  # `fail()` in the direct run (typer turns it into a code itself)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()  # a group without its subcommand: its help, as before
        return 2
    except click_errors.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "hall-edge"
        err_line(f"{where}: {exc.format_message()} (see {where} --help)")
        return 2
    except click_errors.ClickException as exc:
        err_line(exc.format_message())
        return exc.exit_code
    except typer.Abort:
        err_line("aborted")
        return 1
    except BrokenPipeError:
        return 1  # `hall-edge ... | head`: the reader left; nothing to say
    except ConfigError as exc:
        if debug:
            raise
        err_line(str(exc))
        return 2
    except (EdgeError, OSError, ValueError) as exc:
        if debug:
            raise
        err_line(_one_line(exc))
        return 1
    except Exception as exc:
        if debug:
            raise
        err_line(
            f"internal error in hall-edge ({type(exc).__name__}: {exc}); "
            "run it again with --debug for the traceback"
        )
        return 70
    return result if isinstance(result, int) else 0


def _command(argv: Sequence[str], debug: bool) -> Callable[[], Any] | int:
    """What runs the command line: `hall-edge run` directly (edge/cli/run_direct.py), the
    rest through the typer app; 70 when a part of the CLI is missing."""
    fast = direct_run(argv)
    if fast is not None:
        return fast
    try:
        command = build_app(_parts(argv))
    except ModuleNotFoundError as exc:
        if debug:
            raise
        err_line(f"hall-edge is incomplete ({exc}): reinstall it")
        return 70
    return lambda: command(args=list(argv), prog_name="hall-edge", standalone_mode=False)


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


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main() -> None:
    sys.exit(run_cli(sys.argv[1:]))


def __getattr__(name: str) -> Any:
    # `edge.cli.app` (tests, docs) is the whole CLI, built on first use.
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


__all__ = ["PARTS", "build_app", "main", "run_cli"]
