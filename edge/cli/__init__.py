"""`hall-edge`: the commands. No logic of its own: each command calls into the package."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

from edge.cli.core import register_core

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
    register_core(root)
    for name in PARTS if parts is None else parts:
        module = PARTS[name]
        try:
            root.add_typer(importlib.import_module(module).app, name=name)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue  # a part not built yet in this tree
            raise
    return root


def main() -> None:
    words = [a for a in sys.argv[1:] if not a.startswith("-")]
    first = words[0] if words else None
    if first in PARTS:
        parts: list[str] | None = [first]
    elif first is not None and first in CORE:
        parts = []
    else:
        parts = None  # help and mistakes: show everything
    build_app(parts)()


def __getattr__(name: str) -> Any:
    # `edge.cli.app` (tests, docs) is the whole CLI, built on first use.
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


__all__ = ["PARTS", "build_app", "main"]
