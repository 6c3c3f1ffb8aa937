"""What every command shares: the console, loading the config, failing with one line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from edge.config import HubConfig, load
from edge.errors import EdgeError

console = Console()
err_console = Console(stderr=True)

CONFIG_OPTION = Annotated[
    Path, typer.Option("--config", "-c", help="The hub config file (TOML).", show_default=True)
]


def err_line(message: str) -> None:
    """One red `error:` line on stderr (never folded, whatever the terminal's width)."""
    err_console.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """One red line on stderr naming what is wrong, and a non-zero exit."""
    err_line(message)
    raise typer.Exit(code)


def load_config(path: Path) -> HubConfig:
    try:
        return load(path)
    except EdgeError as exc:
        fail(str(exc))
