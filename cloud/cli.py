"""`hall-cloud`: the cloud side's commands. No logic of its own: each calls into the package."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from cloud import devcluster_cli
from edge.errors import ConfigError

app = typer.Typer(
    help="hall-cloud: the reference consumer, command sender and report of a fleet of halls.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(devcluster_cli.app, name="devcluster")


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )


@app.command()
def consume(
    broker: Annotated[
        str | None, typer.Option(help="mqtt://host:port or mqtts://... (or HALL_CLOUD_BROKER).")
    ] = None,
    db: Annotated[
        str | None, typer.Option(help="postgresql://user@host/db (or HALL_CLOUD_DB).")
    ] = None,
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
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
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
    asyncio.run(run(settings))


def main() -> None:
    app()


__all__ = ["app", "main"]
