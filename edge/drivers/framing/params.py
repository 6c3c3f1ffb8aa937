"""Checking the parameters a profile gives a framer; every error names the framer and param."""

from __future__ import annotations

from collections.abc import Collection, Mapping

__all__ = ["bool_param", "bytes_param", "check_names", "choice_param", "int_param"]


def check_names(framer: str, params: Mapping[str, object], known: Collection[str]) -> None:
    """Raise ValueError naming the first param that `framer` does not take."""
    for key in params:
        if key not in known:
            allowed = ", ".join(sorted(known)) or "none"
            raise ValueError(f"framer {framer!r}: unknown param {key!r} (it takes: {allowed})")


def _bad(framer: str, key: str, expected: str, got: object) -> ValueError:
    return ValueError(f"framer {framer!r}: param {key!r} must be {expected}, got {got!r}")


def int_param(framer: str, key: str, value: object, low: int, high: int) -> int:
    """An integer within [low, high]; booleans are refused."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(framer, key, f"an integer from {low} to {high}", value)
    return value


def bool_param(framer: str, key: str, value: object) -> bool:
    """A true boolean (YAML `true`/`false`), not a truthy string or number."""
    if not isinstance(value, bool):
        raise _bad(framer, key, "true or false", value)
    return value


def bytes_param(framer: str, key: str, value: object, max_len: int) -> bytes:
    """Non-empty bytes; a str (as YAML gives it) is taken as UTF-8."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes | bytearray) or not 1 <= len(value) <= max_len:
        raise _bad(framer, key, f"a string of 1 to {max_len} bytes", value)
    return bytes(value)


def choice_param(framer: str, key: str, value: object, choices: Collection[str]) -> str:
    """One of `choices`."""
    if not isinstance(value, str) or value not in choices:
        raise _bad(framer, key, "one of " + ", ".join(repr(c) for c in sorted(choices)), value)
    return value
