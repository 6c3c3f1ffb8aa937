"""`hall-edge profiles`: check and list the device model profiles (firmware-configs/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from edge.cli.common import fail
from edge.drivers.profile_schema import Profile
from edge.drivers.profiles import builtin_dir, load_profile, load_profiles
from edge.errors import EdgeError

app = typer.Typer(help="Device model profiles: check them, list them.", no_args_is_help=True)


def _out() -> Console:
    # Made per command so the terminal width (COLUMNS) is read when the command runs.
    return Console()


def _table(profiles: list[Profile]) -> Table:
    table = Table("profile", "kind", "transport", "framer", "commands", "file")
    for p in profiles:
        transport = p.serial and f"serial {p.serial.baudrate}{' bus' if p.serial.multidrop else ''}"
        table.add_row(
            p.id,
            p.kind,
            transport or f"mqtt {getattr(p.transport, 'convention', '')}",
            p.framer.name if p.framer else "-",
            ", ".join(p.commands) or "-",
            p.source,
        )
    return table


@app.command("check")
def check(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Profile files to check; none: every shipped profile (and --dir)."),
    ] = None,
    extra_dir: Annotated[
        Path | None, typer.Option("--dir", "-d", help="A folder of the hall's own profiles.")
    ] = None,
) -> None:
    """Validate profiles; every error names the file, the line, the key and what was expected."""
    try:
        if files:
            profiles = [load_profile(f) for f in files]
        else:
            profiles = list(load_profiles(extra_dir).values())
    except EdgeError as exc:
        fail(str(exc))
    _out().print(_table(profiles))
    _out().print(f"[green]{len(profiles)} profile(s) OK[/green]")


@app.command("list")
def list_profiles(
    extra_dir: Annotated[
        Path | None, typer.Option("--dir", "-d", help="A folder of the hall's own profiles.")
    ] = None,
) -> None:
    """List the known device models (shipped in firmware-configs/ plus --dir)."""
    try:
        profiles = load_profiles(extra_dir)
    except EdgeError as exc:
        fail(str(exc))
    _out().print(f"shipped profiles: {builtin_dir()}")
    _out().print(_table(list(profiles.values())))
