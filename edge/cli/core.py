"""The core commands: run, config check, outbox, deadletters, status."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from edge.cli.common import CONFIG_OPTION, console, fail, load_config
from edge.cli.hub_run import LogLevel, run_hub
from edge.cli.listing import FORMAT_OPTION, Column, Format, show
from edge.errors import EdgeError
from edge.store import JournalReader, journal_path, open_reader, renew_identity


def _reader(cfg_path: Path) -> JournalReader:
    try:
        return open_reader(load_config(cfg_path))
    except EdgeError as exc:
        fail(str(exc))


def journal_show(config: CONFIG_OPTION = Path("hall.toml")) -> None:
    """Print the journal's identity, the `halljournal` of the events it journals."""
    print(_reader(config).identity() or "-")


def journal_new(config: CONFIG_OPTION = Path("hall.toml")) -> None:
    """Give a journal restored from a copy a new identity (run it with the hub stopped).

    The copy goes on from its last hallseq; the cloud tells its events from those the
    original journal numbered the same way by the new `halljournal`.
    """
    cfg = load_config(config)
    try:
        old, new = renew_identity(cfg)
    except EdgeError as exc:
        fail(str(exc))
    print(f"{journal_path(cfg)}: halljournal {old or '-'} -> {new}")


def run(
    config: CONFIG_OPTION = Path("hall.toml"),
    log_level: Annotated[
        LogLevel, typer.Option(help="debug, info, warning or error.")
    ] = LogLevel.info,
) -> None:
    """Run the hub in the foreground until SIGTERM or SIGINT."""
    code = run_hub(config, log_level)  # the same run as the direct one (edge/cli/hub_run.py)
    if code:
        raise typer.Exit(code)


def config_check(
    file: Annotated[Path, typer.Argument(help="The config file to check.")],
) -> None:
    """Validate a config file and its device profiles; print a summary or the first error."""
    from edge.hub.build import check_config  # noqa: PLC0415 - heavy imports

    cfg = load_config(file)
    try:
        notes = check_config(cfg)
    except EdgeError as exc:
        fail(str(exc))
    console.print(f"[green]ok[/] {file}: hall {cfg.hall.id}, {len(cfg.devices)} devices")
    for note in notes:
        console.print(f"  {note}")


def outbox(config: CONFIG_OPTION = Path("hall.toml"), fmt: FORMAT_OPTION = Format.table) -> None:
    """The backlog waiting for the cloud: size, oldest age, drops."""
    stats = _reader(config).stats()
    age = "-" if stats.oldest_age_s is None else f"{stats.oldest_age_s:,.0f} s"
    rows: list[dict[str, object]] = [
        {"what": "events waiting", "value": stats.backlog},
        {"what": "bytes waiting", "value": stats.backlog_bytes},
        {"what": "oldest waiting", "value": age if fmt is Format.table else stats.oldest_age_s},
        {"what": "last hallseq", "value": stats.last_seq},
        {"what": "dead letters", "value": stats.dead_letters},
    ]
    rows += [{"what": f"dropped {t}", "value": n} for t, n in sorted(stats.drops.items())]
    if not stats.drops:
        rows.append({"what": "dropped", "value": 0})
    cols = [Column("what", keep=True), Column("value", justify="right")]
    show(fmt, cols, rows, title="outbox")


def deadletters(
    config: CONFIG_OPTION = Path("hall.toml"),
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines, one object per line (--format json).")
    ] = False,
    fmt: FORMAT_OPTION = Format.table,
) -> None:
    """Messages and frames that could not become events, with the reason."""
    reader = _reader(config)
    rows = reader.dead_letters(limit, reason)
    if as_json:
        fmt = Format.json
    title = None
    if fmt is Format.table:
        title = dead_letters_title(reader.dead_letter_counts())
        for r in rows:  # a glance in the table; csv and json have them whole
            r["raw"] = r["raw"][:60]
            r["detail"] = r["detail"][:80]
    show(fmt, DEAD_LETTER_COLUMNS, rows, title=title)


def status(config: CONFIG_OPTION = Path("hall.toml"), fmt: FORMAT_OPTION = Format.table) -> None:
    """Journal and device summary, read from the journal (works with the hub stopped)."""
    show_device_status(config, fmt)


def register_core(app: typer.Typer) -> None:
    """Mount the core commands on the root app (they need none of the parts)."""
    config_app = typer.Typer(help="Check a hub config file.", no_args_is_help=True)
    app.add_typer(config_app, name="config")
    journal_app = typer.Typer(help="The journal's identity (halljournal).", no_args_is_help=True)
    app.add_typer(journal_app, name="journal")
    journal_app.command("identity")(journal_show)
    journal_app.command("new-identity")(journal_new)
    app.command()(run)
    config_app.command("check")(config_check)
    for command in (outbox, deadletters, status):
        app.command()(command)


DEAD_LETTER_COLUMNS = [
    Column("id", keep=True, justify="right"),
    Column("received", keep=True),
    Column("device_id", "device"),
    Column("topic", "topic / port"),
    Column("reason"),
    Column("detail", drop=1),
    Column("raw", drop=2),
]


def dead_letters_title(counts: Mapping[str, int]) -> str:
    """`dead letters (5 in all: bad_json 3, too_large 2)`, or `dead letters (none)`."""
    if not counts:
        return "dead letters (none)"
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return f"dead letters ({sum(counts.values())} in all: {reasons})"


def show_device_status(config: Path, fmt: Format = Format.table) -> None:
    """The configured devices with what the journal knows of them."""
    cfg = load_config(config)
    reader = _reader(config)
    stats = reader.stats()
    if fmt is Format.table:
        console.print(
            f"last hallseq {stats.last_seq}, backlog {stats.backlog}, "
            f"dead letters {stats.dead_letters}",
            highlight=False,
        )
    known = {d["device_id"]: d for d in reader.devices()}
    tz = ZoneInfo(cfg.hall.timezone)
    ids = [d.id for d in cfg.devices] + sorted(set(known) - {d.id for d in cfg.devices})
    profiles = {d.id: d.profile for d in cfg.devices}
    rows: list[dict[str, object]] = []
    for device_id in ids:
        d = known.get(device_id, {})
        rows.append(
            {
                "device": device_id,
                "profile": profiles.get(device_id, "(not configured)"),
                "state": {None: "?", 1: "online", 0: "offline"}.get(d.get("online"), "?"),
                "since": _ts(d.get("since_ms"), tz),
                "events": d.get("events", 0),
                "last_event": _ts(d.get("last_event_ms"), tz),
                "errors": d.get("errors", 0),
                "last_error": d.get("last_error") or "",
            }
        )
    cols = [
        Column("device", keep=True),
        Column("profile", drop=3),
        Column("state"),
        Column("since", keep=True, drop=2),
        Column("events", justify="right"),
        Column("last_event", "last event", keep=True),
        Column("errors", justify="right", drop=1),
        Column("last_error", "last error"),
    ]
    show(fmt, cols, rows, title=f"devices of {cfg.hall.id} (times in {tz.key})")


def _ts(ms: int | None, tz: ZoneInfo) -> str | None:
    """A journal time in hall time, to the second: `2026-12-03 09:41:07`."""
    return (
        None if ms is None else datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M:%S")
    )
