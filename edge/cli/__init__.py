"""`hall-edge`: the commands. No logic of its own: each command calls into the package."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from edge.cli.common import CONFIG_OPTION, console, fail, load_config
from edge.cli.core import register_core

app = typer.Typer(
    help="hall-edge: the edge hub and queue system of a power-utility service hall.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

register_core(app)

# Sub-apps of the parts built on the core; each module defines `app`.
_PARTS = {
    "profiles": "edge.cli.profiles",
    "devices": "edge.cli.devices",
    "simulate": "edge.cli.simulate",
    "rules": "edge.cli.rules",
    "kpi": "edge.cli.kpi",
    "faces": "edge.cli.faces",
}
for _name, _module in _PARTS.items():
    try:
        _sub = importlib.import_module(_module).app
    except ImportError as _exc:  # a part whose optional dependency is missing
        if "pytest" in sys.modules:
            raise
        console.print(f"[yellow]hall-edge {_name} unavailable: {_exc}[/]")
        continue
    app.add_typer(_sub, name=_name)


def main() -> None:
    app()


__all__ = ["CONFIG_OPTION", "Path", "app", "fail", "load_config", "main"]
