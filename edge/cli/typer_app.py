"""The typer CLI: every command but the plain `hall-edge run` (edge/cli/__init__.py). No
logic of its own: each command calls into the package."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

# Typer 0.2x carries its own copy of click: its usage errors are these, not click's.
from typer._click import exceptions as click_errors

from edge.cli.core import register_core
from edge.cli.hub_run import err_line, guarded

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


def run_typer(argv: Sequence[str], debug: bool) -> int:
    """A command line through the typer app (everything but the plain `run`): typer's and
    click's errors here, the rest as `edge.cli.hub_run.guarded` words them."""
    call = _command(argv, debug)
    if isinstance(call, int):
        return call

    def typed() -> object:
        try:
            return call()
        except typer.Exit as exc:
            return exc.exit_code
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

    return guarded(typed, debug)


def _command(argv: Sequence[str], debug: bool) -> Callable[[], Any] | int:
    """What runs the command line through the typer app; 70 when a part of the CLI is
    missing."""
    try:
        command = build_app(_parts(argv))
    except ModuleNotFoundError as exc:
        if debug:
            raise
        err_line(f"hall-edge is incomplete ({exc}): reinstall it")
        return 70
    return lambda: command(args=list(argv), prog_name="hall-edge", standalone_mode=False)


def __getattr__(name: str) -> Any:
    # `app` (tests, docs) is the whole CLI, built on first use.
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


__all__ = ["CORE", "PARTS", "build_app", "run_typer"]
