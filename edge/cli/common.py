"""What every command shares: the console, loading the config, failing with one line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from edge.cli.hub_run import err_line
from edge.config import HubConfig, load
from edge.errors import EdgeError

console = Console()

CONFIG_OPTION = Annotated[
    Path, typer.Option("--config", "-c", help="The hub config file (TOML).", show_default=True)
]


def fail(message: str, code: int = 2) -> NoReturn:
    """One red line on stderr naming what is wrong, and a non-zero exit."""
    err_line(message)
    raise typer.Exit(code)


def load_config(path: Path) -> HubConfig:
    try:
        return load(path)
    except EdgeError as exc:
        fail(str(exc))
