"""The vault's key: 256 random bits in their own file, readable by the hub's user only."""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edge.errors import EdgeError

__all__ = ["FaceVaultError", "load_key", "load_or_create_key"]

_KEY_BYTES = 32


class FaceVaultError(EdgeError):
    """The face vault or its key file cannot be used as it is."""


def _check_mode(path: Path) -> None:
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise FaceVaultError(f"{path}: the face key must be a regular file")
    if mode & 0o077:
        raise FaceVaultError(
            f"{path}: the face key is readable or writable by group/others "
            f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}` and start again"
        )


def load_key(path: Path) -> bytes:
    """Read an existing key file; refuse it if its permissions are not owner-only."""
    _check_mode(path)
    text = path.read_bytes().strip()
    try:
        key = base64.urlsafe_b64decode(text)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != _KEY_BYTES:
        raise FaceVaultError(f"{path}: not a face key (expected {_KEY_BYTES} bytes, base64)")
    return key


def load_or_create_key(path: Path) -> tuple[bytes, bool]:
    """The key from `path`, creating it with mode 0600 if absent; returns (key, created)."""
    if path.exists():
        return load_key(path), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=_KEY_BYTES * 8)
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_key(path), False
    try:
        os.fchmod(fd, 0o600)  # the umask may have cleared bits, never added any, but be exact
        os.write(fd, base64.urlsafe_b64encode(key) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return key, True
