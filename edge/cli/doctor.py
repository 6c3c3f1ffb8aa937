"""`hall-edge doctor`: one line per check with ✓, ! or ✗ and a fix; exit 1 on any ✗."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from edge.cli.common import console, fail
from edge.doctor import Context, run_checks
from edge.install.layout import Layout

app = typer.Typer(help="Check this box: config, disk, brokers, TLS, clock, ports, install.")

_COLOUR = {"ok": "green", "warn": "yellow", "fail": "red"}


@app.callback(invoke_without_command=True)
def doctor(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="The hub config (default: etc/hall-edge/hall.toml under --root).",
        ),
    ] = None,
    root: Annotated[
        Path,
        typer.Option("--root", help="The box's root: a staged tree instead of /."),
    ] = Path("/"),
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="One JSON object per check per line (name, ok, level, detail, hint)."
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds each network check may take.", min=0.1, max=30)
    ] = 2.0,
) -> None:
    """Check this box: each check one line with a fix hint; exit 1 if any check fails (✗)."""
    # A mistyped path is the installer's mistake, not the box's: said once, before any check.
    if not root.is_dir():
        fail(f"{root}: expected the folder of the box's root (--root)")
    if config is not None and not config.is_file():
        fail(f"{config}: expected the hub's config file (--config); there is no such file")
    layout = Layout(root)
    ctx = Context(config_path=config or layout.config, layout=layout, timeout_s=timeout)
    checks = asyncio.run(run_checks(ctx))
    for check in checks:
        if as_json:
            sys.stdout.write(check.json() + "\n")
        else:
            colour = _COLOUR[check.level]
            console.print(f"[{colour}]{escape(check.line())}[/]", highlight=False, soft_wrap=True)
    if not as_json:
        failed = sum(not c.ok for c in checks)
        warned = sum(c.level == "warn" for c in checks)
        console.print(f"{len(checks)} checks: {failed} failed, {warned} warnings")
    if any(not c.ok for c in checks):
        raise typer.Exit(1)
