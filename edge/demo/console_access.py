"""The demo's hall console: an address to listen on, and a user to log in as."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

from edge.config.http import listen_address
from edge.web.users import add_user

DEMO_USER = "demo"


def free_listen(wanted: str) -> str:
    """`wanted` if its port is free, else the same host on a free port ("" stays "")."""
    address = listen_address(wanted)
    if address is None:
        return ""
    host, port = address
    for candidate in (port, 0):
        with socket.socket() as s:
            try:
                s.bind((host, candidate))
            except OSError:
                continue
            return f"{host}:{s.getsockname()[1]}"
    return f"{host}:0"


def demo_user(workdir: Path) -> str:
    """A fresh password for the demo's one user (the users file is the run's own)."""
    password = secrets.token_urlsafe(9)
    add_user(workdir / "users", DEMO_USER, password)
    return password
