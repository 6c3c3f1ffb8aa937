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
import msgspec.inspect as mi

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
        error = translate(exc, file, prefix)
        local = (
            error.key[len(prefix) + 1 :] if prefix and error.key.startswith(prefix) else error.key
        )
        explained = explain_choices(ConfigError(file, local, error.expected, error.got), into)
        if explained.expected == error.expected:
            raise error from None
        raise ConfigError(file, error.key, explained.expected, explained.got) from None


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


def key_tokens(key: str) -> list[str | int]:
    """`devices[2].settings.port` -> ["devices", 2, "settings", "port"]."""
    out: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return out


def _choices(t: mi.Type, tokens: list[str | int]) -> list[Any]:
    """The values a Literal (or a tagged union's tag) at `tokens` allows, for messages."""
    if isinstance(t, mi.UnionType):
        return [c for member in t.types for c in _choices(member, tokens)]
    if not tokens:
        return list(t.values) if isinstance(t, mi.LiteralType) else []
    head, rest = tokens[0], tokens[1:]
    if isinstance(t, mi.StructType):
        if head == t.tag_field and not rest:
            return [t.tag]
        fields = {f.name: f.type for f in t.fields}
        return _choices(fields[str(head)], rest) if head in fields else []
    if isinstance(t, mi.DictType):
        return _choices(t.value_type, rest)
    if isinstance(t, mi.ListType):
        return _choices(t.item_type, rest)
    return []


def explain_choices(exc: ConfigError, into: type[Any]) -> ConfigError:
    """msgspec's "Invalid enum value 'x'" made into the list of values the key allows."""
    if not exc.expected.startswith(("Invalid enum value", "Invalid value")):
        return exc
    choices = list(dict.fromkeys(_choices(mi.type_info(into), key_tokens(exc.key))))
    if not choices:
        return exc
    got = exc.expected.split("value", 1)[1].strip().strip("'")
    return ConfigError(exc.file, exc.key, "one of " + ", ".join(map(str, choices)), got)
