"""`hall-edge profiles`: check and list the device model profiles (firmware-configs/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from edge.cli.common import fail
from edge.cli.listing import FORMAT_OPTION, Column, Format, show
from edge.drivers.profile_schema import Profile
from edge.drivers.profiles import builtin_dir, load_profile, load_profiles
from edge.errors import EdgeError

app = typer.Typer(help="Device model profiles: check them, list them.", no_args_is_help=True)


def _out() -> Console:
    # Made per command so the terminal width (COLUMNS) is read when the command runs.
    return Console()


COLUMNS = [
    Column("profile", keep=True),
    Column("kind"),
    Column("transport"),
    Column("framer", drop=2),
    Column("commands", drop=1),
    Column("file", drop=3),
]


def _rows(profiles: list[Profile]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for p in profiles:
        transport = p.serial and f"serial {p.serial.baudrate}{' bus' if p.serial.multidrop else ''}"
        rows.append(
            {
                "profile": p.id,
                "kind": str(p.kind),
                "transport": transport or f"mqtt {getattr(p.transport, 'convention', '')}",
                "framer": p.framer.name if p.framer else None,
                "commands": list(p.commands),
                "file": p.source,
            }
        )
    return rows


@app.command("check")
def check(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Profile files to check; none: every shipped profile (and --dir)."),
    ] = None,
    extra_dir: Annotated[
        Path | None, typer.Option("--dir", "-d", help="A folder of the hall's own profiles.")
    ] = None,
    fmt: FORMAT_OPTION = Format.table,
) -> None:
    """Validate profiles; every error names the file, the line, the key and what was expected."""
    try:
        if files:
            profiles = [load_profile(f) for f in files]
        else:
            profiles = list(load_profiles(extra_dir).values())
    except EdgeError as exc:
        fail(str(exc))
    show(fmt, COLUMNS, _rows(profiles), console=_out())
    if fmt is Format.table:
        _out().print(f"[green]{len(profiles)} profile(s) OK[/green]")


@app.command("list")
def list_profiles(
    extra_dir: Annotated[
        Path | None, typer.Option("--dir", "-d", help="A folder of the hall's own profiles.")
    ] = None,
    fmt: FORMAT_OPTION = Format.table,
) -> None:
    """List the known device models (shipped in firmware-configs/ plus --dir)."""
    try:
        profiles = load_profiles(extra_dir)
    except EdgeError as exc:
        fail(str(exc))
    if fmt is Format.table:
        _out().print(f"shipped profiles: {builtin_dir()}", highlight=False, soft_wrap=True)
    show(fmt, COLUMNS, _rows(list(profiles.values())), console=_out())
