"""`hall-edge users ...`: the hall console's logins (the file `[http] users_file` names)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from edge.cli.common import CONFIG_OPTION, console, fail, load_config
from edge.errors import EdgeError
from edge.web.users import add_user, read_users

app = typer.Typer(help="The hall console's users (logins for actions).", no_args_is_help=True)


def _users_file(config: Path) -> Path:
    cfg = load_config(config)
    if not cfg.http.users_file:
        fail(f"{config}: http.users_file: a file name (the console's users), not set")
    return cfg.resolve(cfg.http.users_file)


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        fail("the two passwords differ")
    return first


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="The login name (letters, digits, _ . @ -).")],
    config: CONFIG_OPTION = Path("hall.toml"),
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a user, or set a user's password (an argon2 hash is stored, never the password)."""
    path = _users_file(config)
    try:
        new = add_user(path, name, _password(password_stdin))
    except EdgeError as exc:
        fail(escape(str(exc)))
    console.print(f"{'added' if new else 'changed the password of'} {escape(name)} in {path}")


@app.command("list")
def list_users(config: CONFIG_OPTION = Path("hall.toml")) -> None:
    """The user names (never their hashes)."""
    path = _users_file(config)
    try:
        names = sorted(read_users(path))
    except EdgeError as exc:
        fail(escape(str(exc)))
    for n in names:
        console.print(escape(n))
    if not names:
        console.print(f"no users in {path}")
