"""`hall-edge kpi`: the hall's service figures for a day or a month, as tables, CSV or JSON."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from edge.cli.common import CONFIG_OPTION, fail
from edge.config import HubConfig, load
from edge.errors import CommandError, EdgeError, StoreError
from edge.kpi import DayReport, KpiService, MonthReport, ReadEvents, choose_model_window
from edge.kpi.envelopes import load_envelopes, reader_over
from edge.kpi.export import to_csv, to_json
from edge.kpi.render import day_view, month_view
from edge.model import BAD_ARGS
from edge.store import journal_path, open_reader

app = typer.Typer(
    help="Service evaluation KPIs: a day or a month, counters ranked, the model counter marked.",
    no_args_is_help=False,  # `hall-edge kpi` alone: today's report
)


@contextmanager
def open_journal(cfg: HubConfig) -> Iterator[ReadEvents]:
    """The hub's journal (`[store] path`), read-only, as the KPI service reads it."""
    reader = open_reader(cfg)
    db = journal_path(cfg)
    try:
        yield reader.events
    except sqlite3.Error as exc:
        raise StoreError(f"{db}: cannot read the journal: {exc}") from None
    finally:
        reader.close()


@contextmanager
def _events_file(path: Path) -> Iterator[ReadEvents]:
    yield reader_over(load_envelopes(path))


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.callback(invoke_without_command=True)
def kpi(
    day: Annotated[
        str | None, typer.Option("--day", help="Hall day to report, YYYY-MM-DD (hall time).")
    ] = None,
    month: Annotated[
        str | None,
        typer.Option("--month", help="Month to report, YYYY-MM, with its model counter."),
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="table for people; csv or json to export.")
    ] = Format.table,
    config: CONFIG_OPTION = Path("hall.toml"),
    events: Annotated[
        Path | None,
        typer.Option(
            "--events",
            help="Read events from this JSON-lines file of envelopes instead of the journal.",
        ),
    ] = None,
) -> None:
    """Show the service KPIs of one day or one month (without --day or --month: today)."""
    try:
        if day is not None and month is not None:
            raise CommandError(BAD_ARGS, "give one of --day YYYY-MM-DD or --month YYYY-MM")
        cfg = load(config)
        if day is None and month is None:
            day = datetime.now(ZoneInfo(cfg.hall.timezone)).date().isoformat()  # hall time
        source: AbstractContextManager[ReadEvents] = (
            _events_file(events) if events is not None else open_journal(cfg)
        )
        with source as read_events:
            service = KpiService(cfg.kpi, ZoneInfo(cfg.hall.timezone), read_events)
            report: DayReport | MonthReport
            window = None
            if day is not None:
                report = service.day_report(service.day_arg(day))
            else:
                report = service.month_report(str(month))
                window = choose_model_window(report, cfg.kpi)
    except CommandError as exc:
        fail(exc.msg)
    except EdgeError as exc:
        fail(str(exc))
    if fmt is Format.csv:
        sys.stdout.write(to_csv(report, window))
    elif fmt is Format.json:
        sys.stdout.write(to_json(report, window) + "\n")
    else:
        out = _console()
        if isinstance(report, DayReport):
            out.print(day_view(report, cfg.kpi, out.width))
        else:
            out.print(month_view(report, window, cfg.kpi, out.width))


def _console() -> Console:
    console = Console(markup=False, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Files and pipes get the whole table, not an 80-column squeeze (unless COLUMNS
        # says how wide).
        console = Console(markup=False, highlight=False, width=200)
    return console
