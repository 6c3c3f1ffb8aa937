"""Listings of the CLI: a table that fits the terminal, JSON lines or CSV (`--format`).

A table never cuts a value: every column folds its text rather than ending it with "…",
and the columns that hold ids and times (`keep`) are never folded. When even those do not
fit, the columns marked droppable go first (highest `drop` first) and a note names them;
`--format csv` or `json` always has every column.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FORMAT_OPTION = Annotated[
    Format,
    typer.Option(
        "--format",
        help="table (fits the terminal), json (JSON lines: one object per line) or csv.",
    ),
]


@dataclass(frozen=True)
class Column:
    key: str  # the field of each row, and the JSON / CSV name
    header: str = ""  # in the table (default: the key)
    keep: bool = False  # ids, times: never folded
    drop: int = 0  # 0: always shown; otherwise left out of a narrow table, highest first
    justify: Literal["left", "right"] = "left"

    @property
    def title(self) -> str:
        return self.header or self.key


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value) or "-"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return _json_value(value)


def _widest(col: Column, rows: Sequence[Mapping[str, Any]]) -> int:
    cells = [_plain(r.get(col.key)) for r in rows]
    lines = [line for c in cells for line in c.splitlines()] or [""]
    return max(cell_len(col.title), *(cell_len(line) for line in lines))


def _needed(cols: Sequence[Column], rows: Sequence[Mapping[str, Any]]) -> int:
    # keep columns at their widest, the others folded down to 12 cells at most (narrower
    # is unreadable); 3 cells of border and padding per column, plus the outer edge.
    return sum((_widest(c, rows) if c.keep else min(12, _widest(c, rows))) + 3 for c in cols) + 1


def fit_columns(
    cols: Sequence[Column], rows: Sequence[Mapping[str, Any]], width: int
) -> tuple[list[Column], list[Column]]:
    """(shown, left out): droppable columns leave, highest `drop` first, until it fits."""
    shown = list(cols)
    dropped: list[Column] = []
    for col in sorted((c for c in cols if c.drop), key=lambda c: -c.drop):
        if _needed(shown, rows) <= width:
            break
        shown.remove(col)
        dropped.append(col)
    return shown, dropped


def table_of(
    cols: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    width: int,
    title: str | None = None,
) -> tuple[Table, list[Column]]:
    shown, dropped = fit_columns(cols, rows, width)
    table = Table(title=title, box=box.SQUARE, header_style="bold", title_justify="left")
    for col in shown:
        table.add_column(
            col.title,
            justify=col.justify,
            no_wrap=col.keep,
            overflow="fold",
            min_width=_widest(col, rows) if col.keep else None,
        )
    for row in rows:
        table.add_row(*(Text(_plain(row.get(c.key))) for c in shown))
    return table, dropped


def show(
    fmt: Format,
    cols: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    title: str | None = None,
    console: Console | None = None,
) -> None:
    """Print the rows in the chosen format."""
    if fmt is Format.json:
        for row in rows:
            record = {c.key: _json_value(row.get(c.key)) for c in cols}
            sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        return
    if fmt is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([c.key for c in cols])
        for row in rows:
            writer.writerow([_csv_value(row.get(c.key)) for c in cols])
        return
    out = console or Console(highlight=False)
    table, dropped = table_of(cols, rows, out.width, title)
    out.print(table)
    if dropped:
        names = ", ".join(c.title for c in dropped)
        out.print(
            f"(left out at {out.width} columns: {names}; --format csv has every column)",
            markup=False,
            highlight=False,
        )
