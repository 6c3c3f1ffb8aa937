"""Every default the docs give for a config key is the one the config schema has.

The defaults are read from the msgspec structs of edge/config/ and compared with the
`| key | default | meaning |` tables of docs/configuration.md (and of the pages the other
sections live on), and with every "`[section] key` (N by default)" in docs/*.md.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from edge.config import HubConfig
from edge.config import hub as core
from edge.config.faces import FacesSection
from edge.config.http import HttpSection
from edge.config.kpi import KpiSection

DOCS = Path(__file__).resolve().parents[2] / "docs"

# (page, where its table starts, the sections the table describes)
TABLES: list[tuple[str, str, tuple[type[msgspec.Struct], ...]]] = [
    ("configuration.md", "## Top level", (HubConfig,)),
    ("configuration.md", "## `[hall]`", (core.HallSection,)),
    (
        "configuration.md",
        "## `[hall_broker]` and `[cloud]`",
        (core.HallBrokerSection, core.CloudSection),
    ),
    ("configuration.md", "## `[store]`", (core.StoreSection,)),
    ("configuration.md", "## `[commands]`", (core.CommandsSection,)),
    ("configuration.md", "## `[[devices]]`", (core.DeviceSection,)),
    ("configuration.md", "## `[http]`", (HttpSection,)),
    ("kpi.md", "## Configuration `[kpi]`", (KpiSection,)),
    ("faces.md", "```toml\n[faces]", (FacesSection,)),
]
# Keys whose default is not a constant, and what the docs say instead.
DERIVED = {"client_id": "hall-edge-{hall id}"}
# HubConfig fields that are sections of their own, or not keys of the file.
NOT_KEYS = {"hall", "hall_broker", "cloud", "store", "commands", "devices", "queue", "kpi"}
NOT_KEYS |= {"rules", "faces", "http", "base_dir", "source"}


def doc_defaults(page: str, marker: str) -> dict[str, str]:
    """key -> the default cell, from the tables between `marker` and the next heading."""
    text = (DOCS / page).read_text(encoding="utf-8")
    start = text.index(marker)
    end = text.find("\n## ", start + len(marker))
    rows: dict[str, str] = {}
    for line in text[start : end if end != -1 else len(text)].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        keys = re.findall(r"`([a-z_]+)`", cells[0])
        values = re.findall(r"`([^`]*)`", cells[1])
        if len(keys) > 1 and len(values) == len(keys):
            rows.update(zip(keys, values, strict=True))
        else:
            rows.update({k: cells[1] for k in keys})
    return rows


def schema_defaults(struct: type[msgspec.Struct]) -> dict[str, Any]:
    """field -> default (msgspec.NODEFAULT when required), factories called."""
    out: dict[str, Any] = {}
    for f in msgspec.structs.fields(struct):
        if f.name in NOT_KEYS:
            continue
        if f.default_factory is not msgspec.NODEFAULT:
            out[f.name] = f.default_factory()
        else:
            out[f.name] = f.default
    return out


def same(doc: str, value: Any) -> bool:
    cell = doc.strip().strip("`")
    if value is msgspec.NODEFAULT:
        return cell == "required"
    if value is None:
        return cell == "none"
    if isinstance(value, dict) and not doc.startswith("`"):
        # Described in words ("payment 5, new_install / ... 20"): every entry is named.
        return all(str(k) in doc or str(v) in doc for k, v in value.items())
    try:
        parsed = tomllib.loads(f"v = {cell}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = cell  # a bare word in backticks: `faces.db`
    if isinstance(value, bool) or isinstance(parsed, bool):
        return parsed is value
    if isinstance(value, int | float) and isinstance(parsed, int | float):
        return float(parsed) == float(value)
    return bool(parsed == value)


@pytest.mark.parametrize(("page", "marker", "structs"), TABLES, ids=[t[1] for t in TABLES])
def test_every_key_has_its_schema_default_in_the_docs(
    page: str, marker: str, structs: tuple[type[msgspec.Struct], ...]
) -> None:
    documented = doc_defaults(page, marker)
    wrong: list[str] = []
    for struct in structs:
        for key, value in schema_defaults(struct).items():
            if key not in documented:
                wrong.append(f"{key}: not in the table")
            elif key in DERIVED:
                if DERIVED[key] not in documented[key]:
                    wrong.append(f"{key}: the docs should say {DERIVED[key]}")
            elif not same(documented[key], value):
                wrong.append(f"{key}: the docs say {documented[key]}, the schema {value!r}")
    assert not wrong, f"{page} {marker}: " + "; ".join(wrong)


def test_defaults_quoted_in_the_prose_are_the_schema_ones() -> None:
    sections: dict[str, type[msgspec.Struct]] = {
        "hall": core.HallSection,
        "hall_broker": core.HallBrokerSection,
        "cloud": core.CloudSection,
        "store": core.StoreSection,
        "commands": core.CommandsSection,
        "kpi": KpiSection,
        "faces": FacesSection,
        "http": HttpSection,
    }
    quoted = 0
    wrong: list[str] = []
    pattern = re.compile(r"`\[(\w+)\] (\w+)`\s*\(([\d,.]+)( GiB)?(?:\)|[^)]*?by default)")
    for page in sorted(DOCS.glob("*.md")):
        text = " ".join(page.read_text(encoding="utf-8").split())  # across line breaks
        for section, key, number, gib in pattern.findall(text):
            quoted += 1
            value = schema_defaults(sections[section])[key]
            said = float(number.replace(",", "")) * (1 << 30 if gib else 1)
            if said != float(value):
                wrong.append(f"{page.name}: [{section}] {key} ({number}), the schema {value!r}")
    assert quoted >= 3, "the pattern no longer finds the defaults quoted in contract.md"
    assert not wrong, wrong
