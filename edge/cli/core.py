"""The core commands: run, config check, outbox, deadletters, status."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from edge.cli.common import CONFIG_OPTION, console, fail, load_config
from edge.errors import ConfigError, EdgeError
from edge.store import JournalReader, connect, journal_identity, migrate, new_identity


def _reader(cfg_path: Path) -> JournalReader:
    cfg = load_config(cfg_path)
    db = cfg.resolve(cfg.store.path)
    if not db.exists():
        fail(f"{cfg_path}: store.path: the journal {db} does not exist yet (has the hub run?)")
    try:
        return JournalReader(db)
    except Exception as exc:
        fail(f"{db}: cannot read the journal: {exc}")


def register_core(app: typer.Typer) -> None:
    config_app = typer.Typer(help="Check a hub config file.", no_args_is_help=True)
    app.add_typer(config_app, name="config")
    journal_app = typer.Typer(help="The journal's identity (halljournal).", no_args_is_help=True)
    app.add_typer(journal_app, name="journal")

    @journal_app.command("identity")
    def journal_show(config: CONFIG_OPTION = Path("hall.toml")) -> None:
        """Print the journal's identity, the `halljournal` of the events it journals."""
        print(_reader(config).identity() or "-")

    @journal_app.command("new-identity")
    def journal_new(config: CONFIG_OPTION = Path("hall.toml")) -> None:
        """Give a journal restored from a copy a new identity (run it with the hub stopped).

        The copy goes on from its last hallseq; the cloud tells its events from those the
        original journal numbered the same way by the new `halljournal`.
        """
        cfg = load_config(config)
        db = cfg.resolve(cfg.store.path)
        if not db.exists():
            fail(f"{config}: store.path: the journal {db} does not exist")
        try:
            conn = connect(db)
            migrate(conn)
            old = journal_identity(conn)
            new = new_identity(conn)
            conn.close()
        except Exception as exc:
            fail(f"{db}: cannot write the journal: {exc}")
        print(f"{db}: halljournal {old or '-'} -> {new}")

    @app.command()
    def run(
        config: CONFIG_OPTION = Path("hall.toml"),
        log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    ) -> None:
        """Run the hub in the foreground until SIGTERM or SIGINT."""
        from edge.hub.build import build_hub  # noqa: PLC0415 - heavy; only `run` needs it

        cfg = load_config(config)
        logging.basicConfig(
            level=log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            force=True,  # python-escpos calls basicConfig() when imported
        )

        async def main() -> None:
            hub = await build_hub(cfg)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, hub.stop)
            await hub.run()

        try:
            asyncio.run(main())
        except ConfigError as exc:
            # A config (or profile, or device setting) mistake: exit 2, which the systemd
            # unit does not restart; restarting cannot fix the file.
            fail(str(exc), code=2)
        except EdgeError as exc:
            fail(str(exc), code=1)

    @config_app.command("check")
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

    @app.command()
    def outbox(config: CONFIG_OPTION = Path("hall.toml")) -> None:
        """The backlog waiting for the cloud: size, oldest age, drops."""
        stats = _reader(config).stats()
        table = Table(title="outbox")
        table.add_column("what")
        table.add_column("value", justify="right")
        table.add_row("events waiting", str(stats.backlog))
        table.add_row("bytes waiting", f"{stats.backlog_bytes:,}")
        age = "-" if stats.oldest_age_s is None else f"{stats.oldest_age_s:,.0f} s"
        table.add_row("oldest waiting", age)
        table.add_row("last hallseq", str(stats.last_seq))
        table.add_row("dead letters", str(stats.dead_letters))
        for etype, n in sorted(stats.drops.items()):
            table.add_row(f"dropped {etype}", str(n))
        if not stats.drops:
            table.add_row("dropped", "0")
        console.print(table)

    @app.command()
    def deadletters(
        config: CONFIG_OPTION = Path("hall.toml"),
        limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
        reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="JSON lines instead of a table.")
        ] = False,
    ) -> None:
        """Messages and frames that could not become events, with the reason."""
        reader = _reader(config)
        rows = reader.dead_letters(limit, reason)
        if as_json:
            for r in rows:
                r["raw"] = r["raw"].decode("utf-8", "backslashreplace")
                console.print_json(msgspec.json.encode(r).decode())
            return
        counts = reader.dead_letter_counts()
        table = Table(
            title=f"dead letters ({sum(counts.values())} in all: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + ")"
        )
        for col in ("id", "received", "device", "topic / port", "reason", "detail", "raw"):
            table.add_column(col, overflow="fold")
        for r in rows:
            raw = r["raw"][:60]
            table.add_row(
                str(r["id"]),
                r["received"],
                r["device_id"] or "-",
                r["topic"],
                r["reason"],
                r["detail"][:80],
                raw.decode("utf-8", "backslashreplace"),
            )
        console.print(table)

    @app.command()
    def status(config: CONFIG_OPTION = Path("hall.toml")) -> None:
        """Journal and device summary, read from the journal (works with the hub stopped)."""
        show_device_status(config)


def show_device_status(config: Path) -> None:
    """The configured devices with what the journal knows of them."""
    cfg = load_config(config)
    reader = _reader(config)
    stats = reader.stats()
    console.print(
        f"last hallseq {stats.last_seq}, backlog {stats.backlog}, dead letters {stats.dead_letters}"
    )
    known = {d["device_id"]: d for d in reader.devices()}
    table = Table(title=f"devices of {cfg.hall.id}")
    for col in (
        "device",
        "profile",
        "state",
        "since",
        "events",
        "last event",
        "errors",
        "last error",
    ):
        table.add_column(col)
    ids = [d.id for d in cfg.devices] + sorted(set(known) - {d.id for d in cfg.devices})
    profiles = {d.id: d.profile for d in cfg.devices}
    for device_id in ids:
        d = known.get(device_id, {})
        state = {None: "?", 1: "online", 0: "offline"}.get(d.get("online"), "?")
        table.add_row(
            device_id,
            profiles.get(device_id, "(not configured)"),
            state,
            _ts(d.get("since_ms")),
            str(d.get("events", 0)),
            _ts(d.get("last_event_ms")),
            str(d.get("errors", 0)),
            d.get("last_error") or "",
        )
    console.print(table)


def _ts(ms: int | None) -> str:
    return (
        "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")
    )
