"""`hall-edge demo`: a whole simulated hall through the real hub, watched from the cloud."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from edge.cli.common import console, fail
from edge.demo.options import DemoOptions
from edge.demo.runner import run_demo
from edge.demo.summary import DemoResult, summary
from edge.errors import EdgeError

app = typer.Typer(
    help="Run a whole simulated hall through the hub and show what reaches the cloud.",
    invoke_without_command=True,
    subcommand_metavar="",  # one command: no "COMMAND [ARGS]..." in its usage line
)


def _output() -> Console:
    # Piped into a log, rich would assume 80 columns and fold the summary's tables.
    return console if console.is_terminal else Console(width=140, highlight=False)


async def _run(opts: DemoOptions, out: Console) -> DemoResult:
    stop, hurry = asyncio.Event(), asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            hurry.set()  # a second Ctrl-C: do not wait for the last events
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
    return await run_demo(opts, out, stop, hurry)


@app.callback(invoke_without_command=True)
def demo(
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            "-d",
            help="Stop after this many seconds (default: at the "
            "end of the simulated day, or Ctrl-C).",
        ),
    ] = None,
    speed: Annotated[
        float, typer.Option("--speed", help="Simulated hall seconds per real second.")
    ] = 120.0,
    counters: Annotated[
        int, typer.Option("--counters", help="Counters (windows) in the hall, 2 to 12.")
    ] = 4,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            help="Keep hall.toml, the journal and the logs here "
            "(default: a temporary folder, removed afterwards).",
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            help="Live dashboard, or a progress line every few "
            "seconds (for logs and CI; also when the output is not a terminal).",
        ),
    ] = True,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the hall day.")] = 1,
    console_at: Annotated[
        str, typer.Option("--console", help='The hall console\'s host:port ("": none).')
    ] = "127.0.0.1:9580",
) -> None:
    """Start two private brokers, the hub and every simulated device; show what reaches the
    cloud live; print a summary (events per type, hallseq gaps, duplicates, dead letters)."""
    out = _output()
    opts = DemoOptions(
        duration_s=duration,
        speed=speed,
        counters=counters,
        workdir=workdir,
        live=live and out.is_terminal,
        seed=seed,
        console=console_at,
    )
    try:
        opts.check()
        result = asyncio.run(_run(opts, out))
    except EdgeError as exc:
        fail(str(exc))
    out.print(summary(result))
    if result.problems():
        raise typer.Exit(1)
