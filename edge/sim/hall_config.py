"""hall.toml from plain mappings: the one writer of the demo's, the benchmarks' and the
tests' hub configs.

Tables are written in the order given: `{"hall": {...}, "queue.services": [{...}, {...}]}`
becomes `[hall]` and two `[[queue.services]]`. A key may be dotted (`"settings.port"`);
values are strings, numbers, booleans, lists and mappings (inline tables).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

Table = Mapping[str, Any]
Tables = Mapping[str, Table | Sequence[Table]]  # a sequence: an array of tables

_BARE_KEY = re.compile(r"[A-Za-z0-9_.-]+")


def toml_value(v: Any) -> str:
    """A TOML value: JSON's strings, numbers and booleans are valid TOML ones."""
    if v is None:
        raise TypeError("TOML has no null: leave the key out")
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def _key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else json.dumps(k, ensure_ascii=False)


def toml_tables(tables: Tables) -> str:
    out: list[str] = []
    for name, body in tables.items():
        rows = [body] if isinstance(body, Mapping) else body
        head = f"[{name}]" if isinstance(body, Mapping) else f"[[{name}]]"
        for row in rows:
            out += [head, *(f"{_key(k)} = {toml_value(v)}" for k, v in row.items()), ""]
    return "\n".join(out)


def hub_tables(
    hall_url: str, cloud_url: str, hall_id: str, *changes: Tables
) -> dict[str, Table | Sequence[Table]]:
    """The tables a test's or a benchmark's hub starts from, then `changes` in turn (keys
    of a table added or replaced; arrays of tables and new tables as given).

    Reconnect backoffs are short: the outages there last seconds, not hours. HTTP is off
    (many hubs run at once; the shipped default port would be shared): a test of the
    HTTP side names its own free port.
    """
    tables: dict[str, Table | Sequence[Table]] = {
        "hall": {"id": hall_id},
        "hall_broker": {"url": hall_url},
        "cloud": {"url": cloud_url, "backoff_min_s": 0.2, "backoff_max_s": 2.0},
        "http": {"listen": ""},
        # Last: a caller's `extra` text (bare keys) belongs to the last table, [store].
        "store": {"path": "hall.db"},
    }
    for change in changes:
        for name, body in change.items():
            old = tables.get(name)
            if isinstance(old, Mapping) and isinstance(body, Mapping):
                tables[name] = {**old, **body}
            else:
                tables[name] = body
    return tables


def write_hall_toml(
    path: Path, tables: Tables, devices: Sequence[Table] = (), extra: str = ""
) -> Path:
    """`tables`, then `extra` (TOML text as it is), then the `[[devices]]`."""
    text = toml_tables(tables) + (extra.strip("\n") + "\n\n" if extra else "")
    path.write_text(text + toml_tables({"devices": devices} if devices else {}), "utf-8")
    return path
