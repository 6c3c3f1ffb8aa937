"""`hall-cloud devcluster`: start and stop the development RabbitMQ cluster."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from cloud import devcluster

app = typer.Typer(
    help="Start and stop a local RabbitMQ cluster with the MQTT plugin.", no_args_is_help=True
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


DirOption = Annotated[Path, typer.Option("--dir", help="The cluster's directory (state, data).")]


@app.command()
def start(
    directory: DirOption,
    nodes: Annotated[int, typer.Option(help="How many nodes.")] = 3,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each step.")] = 120.0,
) -> None:
    """Start the nodes in parallel, join them into one cluster, print one line per node:
    name, MQTT URL, AMQP URL, OS pid."""
    t0 = time.monotonic()
    try:
        cluster = devcluster.start(directory, nodes=nodes, timeout=timeout)
    except devcluster.DevClusterError as e:
        _fail(str(e))
        return
    for n in cluster.nodes:
        typer.echo(n.line())
    typer.echo(f"# {len(cluster.nodes)} nodes up in {time.monotonic() - t0:.1f} s", err=True)


@app.command()
def stop(directory: DirOption) -> None:
    """Stop every node of the cluster in DIR (its data stays)."""
    try:
        cluster = devcluster.stop(directory)
    except devcluster.DevClusterError as e:
        _fail(str(e))
        return
    for n in cluster.nodes:
        typer.echo(f"{n.name} stopped")


@app.command()
def status(directory: DirOption) -> None:
    """One line per node as `start` printed it, with `up` or `down`."""
    try:
        cluster = devcluster.Cluster.load(directory.resolve())
    except devcluster.DevClusterError as e:
        _fail(str(e))
        return
    for n in cluster.nodes:
        state = "up" if n.pid and devcluster.alive(n.pid) else "down"
        typer.echo(f"{n.line()} {state}")
