"""`hall-cloud devcluster`: the development RabbitMQ cluster (filled in by its own part)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Start and stop a local RabbitMQ cluster with the MQTT plugin.")
