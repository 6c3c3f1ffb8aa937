"""`hall-cloud`: the cloud side's commands. No logic of its own: each calls into the package."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from cloud import devcluster_cli
from edge.errors import ConfigError

if TYPE_CHECKING:
    from cloud.command import Outcome

app = typer.Typer(
    help="hall-cloud: the reference consumer, command sender and report of a fleet of halls.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(devcluster_cli.app, name="devcluster")


# The options two commands share.
Db = Annotated[str | None, typer.Option(help="postgresql://user@host/db (or HALL_CLOUD_DB).")]
LogLevel = Annotated[str, typer.Option(help="debug, info, warning or error.")]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _url_of(given: str | None, env: str, schemes: Collection[str], option: str, kind: str) -> str:
    """The URL of `option`, else of the environment variable `env`; a usage error if neither
    is a URL of one of `schemes` (`kind` says which: "an mqtt://")."""
    url = given or os.environ.get(env)
    if not url or url.split("://", 1)[0] not in schemes:
        fail(f"command line: {option}: expected {kind} URL (or {env}), got {url!r}", 2)
    return url


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )


@app.command()
def consume(
    broker: Annotated[
        str | None,
        typer.Option(help="mqtt://host:port, mqtts://..., amqp://... (or HALL_CLOUD_BROKER)."),
    ] = None,
    db: Db = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="A TOML file with the same keys.")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option(help="MQTT client id: fixed, it names the persistent session.")
    ] = None,
    shared_group: Annotated[
        str | None, typer.Option(help="MQTT 5 shared subscription group (hall-cloud).")
    ] = None,
    no_shared: Annotated[
        bool, typer.Option("--no-shared", help="Plain subscriptions (brokers without $share).")
    ] = False,
    protocol: Annotated[str | None, typer.Option(help='MQTT "5" (default) or "3.1.1".')] = None,
    max_bytes: Annotated[
        int | None, typer.Option(help="Larger payloads are dead letters (1 MiB).")
    ] = None,
    batch_max: Annotated[
        int | None, typer.Option(help="Messages per PostgreSQL transaction (500).")
    ] = None,
    linger_ms: Annotated[
        int | None, typer.Option(help="How long a batch waits for more messages (20).")
    ] = None,
    log_level: LogLevel = "info",
) -> None:
    """Store what the halls send (events, states, replies) in PostgreSQL, acking after commit."""
    from cloud.consume import consume as run  # noqa: PLC0415 - asyncpg only when consuming
    from cloud.settings import load_settings  # noqa: PLC0415

    options = {
        "broker": broker,
        "db": db,
        "client_id": client_id,
        "shared_group": shared_group,
        "shared": False if no_shared else None,
        "protocol": protocol,
        "max_bytes": max_bytes,
        "batch_max": batch_max,
        "linger_ms": linger_ms,
    }
    try:
        settings = load_settings(config, options)
    except ConfigError as exc:
        fail(str(exc), code=2)
    _logging(log_level)
    import asyncpg  # noqa: PLC0415

    try:
        asyncio.run(run(settings))
    except asyncpg.PostgresError as exc:
        # A database that answers but refuses us (no such database, a wrong password):
        # retrying cannot fix it. A database that does not answer is retried, not this.
        fail(f"{settings.db}: {type(exc).__name__}: {exc}")


@app.command()
def command(
    hall: Annotated[str, typer.Argument(help="The hall id.")],
    device: Annotated[str, typer.Argument(help="The device id, or hub for the hub itself.")],
    name: Annotated[str, typer.Argument(help="The command, e.g. printer.query_status.")],
    args: Annotated[str, typer.Option("--args", help="The arguments, a JSON object.")] = "{}",
    deadline: Annotated[
        str, typer.Option(help="Give up after this long (30s, 2m); also sent to the hub.")
    ] = "30s",
    every: Annotated[str, typer.Option(help="Resend with the same cmd_id this often.")] = "5s",
    broker: Annotated[
        str | None, typer.Option(help="mqtt://host:port (or HALL_CLOUD_BROKER).")
    ] = None,
    protocol: Annotated[str, typer.Option(help='MQTT "5" (default) or "3.1.1".')] = "5",
    cmd_id: Annotated[
        str | None, typer.Option(help="The command's id (a fresh one if not given).")
    ] = None,
    log_level: LogLevel = "warning",
) -> None:
    """Send a command, resend it until a final reply or the deadline; print the reply (JSON).

    Exit status: 0 a final reply below 400, 1 a final reply of 400 or more, 3 no final
    reply before the deadline (the last interim reply, if any, is printed).
    """
    from cloud.command import parse_duration, send_command  # noqa: PLC0415
    from cloud.settings import BROKER_SCHEMES, ENV_BROKER, PROTOCOLS  # noqa: PLC0415

    url = _url_of(broker, ENV_BROKER, BROKER_SCHEMES, "--broker", "an mqtt://")
    if protocol not in PROTOCOLS:
        fail(f'command line: --protocol: expected "5" or "3.1.1", got {protocol!r}', 2)
    arguments = _json_object(args)
    try:
        deadline_s, every_s = parse_duration(deadline), parse_duration(every)
    except ValueError as exc:
        fail(f"command line: --deadline/--every: {exc}", 2)
    _logging(log_level)
    outcome = asyncio.run(
        send_command(
            url,
            hall,
            device,
            name,
            arguments,
            deadline_s=deadline_s,
            resend_s=every_s,
            protocol=protocol,
            cmd_id=cmd_id,
        )
    )
    _exit_with(outcome)


def _json_object(text: str) -> dict[str, Any]:
    """--args as a JSON object; a usage error otherwise."""
    try:
        arguments = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"command line: --args: expected a JSON object ({exc})", 2)
    if not isinstance(arguments, dict):
        fail(f"command line: --args: expected a JSON object, got {text!r}", 2)
    return arguments


def _exit_with(outcome: Outcome) -> NoReturn:
    """Print the reply (JSON) and exit: 0 final below 400, 1 final of 400 or more, 3 none."""
    if outcome.reply is None:
        typer.echo(json.dumps({"cmd_id": outcome.cmd_id, "code": None, "msg": "no reply"}))
        raise typer.Exit(3)
    typer.echo(json.dumps(outcome.reply, ensure_ascii=False))
    if not outcome.final:
        raise typer.Exit(3)
    raise typer.Exit(0 if int(outcome.reply.get("code", 500)) < 400 else 1)


@app.command()
def report(
    db: Db = None,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    day: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD for 'events today' (today in --tz).")
    ] = None,
    month: Annotated[
        str | None, typer.Option(help="YYYY-MM of the model counter (the month before --day).")
    ] = None,
    tz: Annotated[str, typer.Option(help="The halls' time zone.")] = "Asia/Shanghai",
) -> None:
    """Per hall: events today, last seen, open gaps, devices offline, the month's model counter."""
    import re  # noqa: PLC0415
    from datetime import date, datetime  # noqa: PLC0415
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from cloud import report as rep  # noqa: PLC0415
    from cloud.settings import DB_SCHEMES, ENV_DB  # noqa: PLC0415

    dsn = _url_of(db, ENV_DB, DB_SCHEMES, "--db", "a postgresql://")
    if output not in ("text", "json"):
        fail(f"command line: --format: expected text or json, got {output!r}", 2)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"command line: --tz: expected an IANA time zone such as Asia/Shanghai, got {tz!r}", 2)
    try:
        the_day = date.fromisoformat(day) if day else datetime.now(zone).date()
    except ValueError:
        fail(f"command line: --day: expected YYYY-MM-DD, got {day!r}", 2)
    if month is None:
        first = the_day.replace(day=1)
        prev = date.fromordinal(first.toordinal() - 1)
        month = f"{prev.year:04d}-{prev.month:02d}"
    elif not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        fail(f"command line: --month: expected YYYY-MM, got {month!r}", 2)
    try:
        reports = asyncio.run(rep.gather(dsn, the_day, zone, month))
    except (TimeoutError, OSError) as exc:
        fail(f"{dsn}: cannot reach the database: {exc}")
    except Exception as exc:  # asyncpg's errors: a missing database, no schema yet
        fail(f"{dsn}: {exc}")
    if output == "json":
        typer.echo(rep.as_json(reports, the_day, month, tz))
        return
    table = Table(title=f"halls on {the_day} ({tz}); model counter of {month}")
    for col in (*rep.COLUMNS, f"model counter {month}"):
        table.add_column(col)
    for row in rep.rows(reports):
        table.add_row(*row)
    Console(width=160).print(table)


def main() -> None:
    app()


__all__ = ["app", "main"]
