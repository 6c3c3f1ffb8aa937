"""The console's users: a TOML-free text file of `name:argon2-hash` lines.

argon2 (argon2-cffi) because a leaked file must not give the passwords away cheaply; one
line per user so that an installer can read and edit it with any tool. The file is written
mode 0640 with its folder's group (the hub runs as the `hall-edge` user of that group and
only reads it; nobody else may: it holds password hashes) by `hall-edge users add NAME`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from edge.errors import ConfigError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8


def _hasher() -> PasswordHasher:
    # Imported when a password is checked or set, not when the hub starts: most hubs run
    # for days without a login.
    from argon2 import PasswordHasher  # noqa: PLC0415

    return PasswordHasher()


def read_users(path: Path) -> dict[str, str]:
    """name → hash; ConfigError naming the file and line for anything unreadable."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(str(path), "", "a readable users file", exc.strerror) from None
    users: dict[str, str] = {}
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, digest = line.partition(":")
        if not sep or not NAME.match(name) or not digest.startswith("$argon2"):
            raise ConfigError(str(path), f"line {i}", "NAME:$argon2…hash (hall-edge users add)")
        users[name] = digest
    return users


def add_user(path: Path, name: str, password: str) -> bool:
    """Add or replace `name`; True when it was new."""
    if not NAME.match(name):
        raise ConfigError(str(path), "NAME", "1-64 letters, digits or _ . @ -", name)
    if len(password) < MIN_PASSWORD:
        raise ConfigError(str(path), "password", f"at least {MIN_PASSWORD} characters")
    users = read_users(path)
    new = name not in users
    users[name] = _hasher().hash(password)
    body = "".join(f"{n}:{h}\n" for n, h in sorted(users.items()))
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    os.fchmod(fd, 0o640)  # whatever the umask
    group = path.parent.stat().st_gid
    if os.geteuid() == 0 and group != os.getegid():
        os.fchown(fd, -1, group)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# hall console users: NAME:argon2 hash, written by `hall-edge users add`\n")
        f.write(body)
    os.replace(tmp, path)
    return new


def verify(digest: str, password: str) -> bool:
    from argon2.exceptions import VerificationError, VerifyMismatchError  # noqa: PLC0415

    try:
        return bool(_hasher().verify(digest, password))
    except (VerifyMismatchError, VerificationError, ValueError):
        return False


# A hash to verify against when the name is unknown, so a wrong name costs the same time
# as a wrong password (no telling which names exist).
_DUMMY: str | None = None


def dummy_digest() -> str:
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = _hasher().hash("not a password of anyone")
    return _DUMMY
