"""Turning a parsed TOML/YAML mapping into frozen typed objects, with installer-grade errors.

msgspec does the structural validation (types, unknown keys, missing keys) and names the
path of the offending value; this module rewrites its message into
"FILE: key.path: expected ..." so every section module (hub, queue, kpi, rules, faces)
reports errors the same way.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from edge.errors import ConfigError

T = TypeVar("T")

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_TYPE = re.compile(r"Expected `(?P<exp>[^`]+)`, got `(?P<got>[^`]+)`")
_CONSTRAINT = re.compile(r"Expected `(?P<exp>[^`]+)` (?P<rule>(?:[<>]=?|of length|matching).*)$")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")


def _dotted(path: str, prefix: str) -> str:
    path = path.lstrip(".")
    return f"{prefix}.{path}" if prefix and path else (prefix or path)


def convert(data: Any, into: type[T], file: str, prefix: str = "") -> T:
    """Validate `data` as `into`; on failure raise ConfigError naming file, key, expectation."""
    try:
        return msgspec.convert(data, into, str_keys=True)
    except msgspec.ValidationError as exc:
        raise translate(exc, file, prefix) from None


def translate(exc: msgspec.ValidationError, file: str, prefix: str = "") -> ConfigError:
    m = _AT.match(str(exc))
    msg = m.group("msg") if m else str(exc)
    key = _dotted((m.group("path") or "") if m else "", prefix)
    if c := _CONSTRAINT.search(msg):
        return ConfigError(file, key, f"a value of type {c.group('exp')} {c.group('rule')}")
    if t := _TYPE.search(msg):
        return ConfigError(file, key, f"a value of type {t.group('exp')}, not {t.group('got')}")
    if u := _UNKNOWN.search(msg):
        return ConfigError(
            file,
            _dotted(u.group("field"), key),
            "only known keys; this one is unknown (misspelt or misplaced?)",
        )
    if mi := _MISSING.search(msg):
        return ConfigError(file, _dotted(mi.group("field"), key), "this key, which is required")
    return ConfigError(file, key, msg)
