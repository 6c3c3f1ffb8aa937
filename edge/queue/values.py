"""Lenient reading of device-supplied values (converters may send "3" for 3)."""

from __future__ import annotations


def as_int(value: object) -> int | None:
    """An int from an int or a decimal string; None for anything else (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
