"""`hall-cloud`: the cloud side's commands. No logic of its own: each calls into the package."""

from __future__ import annotations

import typer

from cloud import devcluster_cli

app = typer.Typer(
    help="hall-cloud: the reference consumer, command sender and report of a fleet of halls.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(devcluster_cli.app, name="devcluster")


def main() -> None:
    app()


__all__ = ["app", "main"]
