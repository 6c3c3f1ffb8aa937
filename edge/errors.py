"""One root error for the hub; every third-party failure is translated into one of these."""

from __future__ import annotations


class EdgeError(Exception):
    """Root of every error the hub raises on purpose."""


class ConfigError(EdgeError):
    """A config, profile or rules file is wrong; the message names the file, key and expectation."""

    def __init__(self, file: str, key: str, expected: str, got: object = None) -> None:
        self.file = file
        self.key = key
        self.expected = expected
        self.got = got
        where = f"{file}: {key}" if key else file
        tail = "" if got is None else f" (got {got!r})"
        super().__init__(f"{where}: expected {expected}{tail}")


class PayloadError(EdgeError):
    """A device message or frame that cannot be turned into an event; goes to dead letters."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class StoreError(EdgeError):
    """The journal could not be read or written."""


class SpoolFullError(StoreError):
    """The disk budget is reached and nothing more may be dropped."""


class LinkError(EdgeError):
    """A broker or serial link failed."""


class CommandError(EdgeError):
    """A command could not be carried out; `code` is its reply code (docs/contract.md §6)."""

    def __init__(self, code: int, msg: str) -> None:
        self.code = code
        self.msg = msg
        super().__init__(f"{code} {msg}")


def shown(value: object, limit: int = 80) -> str:
    """A device's value as an error message quotes it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def described(exc: BaseException) -> str:
    """An unexpected exception as a dead letter's detail or a log line: type and message."""
    return f"{type(exc).__name__}: {str(exc)[:200]}"
