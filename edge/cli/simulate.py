"""`hall-edge simulate KIND`: one simulated hall device, or a whole hall day.

Serial devices speak their real bytes on `--port`: an existing tty (such as one end of a
`socat -d -d pty,raw,echo=0,link=/tmp/ttyA pty,raw,echo=0,link=/tmp/ttyB` link), or a new
pty pair whose slave the hub opens (symlinked at PORT when PORT does not exist yet).
MQTT devices speak their vendor's JSON on `--broker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer
from rich.console import Console

from edge.cli.common import fail
from edge.sim import solo
from edge.sim.hall_day import HallDayReport, run_hall
from edge.sim.hall_links import devices_toml, open_hall_links

app = typer.Typer(
    help="Simulated hall devices speaking their real serial bytes or MQTT topics.",
    no_args_is_help=True,
)
out = Console()

Port = Annotated[
    str | None,
    typer.Option("--port", help="tty to use, or where to link a new pty pair (default: new pty)."),
]
Broker = Annotated[str, typer.Option("--broker", help="Hall broker URL.")]
Every = Annotated[
    float,
    typer.Option("--every", help="Act by itself about every N seconds (0: only answer the hub)."),
]
Serial = Annotated[str | None, typer.Option("--serial", help="The device's vendor serial number.")]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _say(text: str) -> None:
    # Plain text: simulators print lists (`calls ['A001', ...]`) and TOML (`[[devices]]`)
    # that rich would read as markup; soft wrap keeps long lines whole for copy and paste.
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def _report_text(report: HallDayReport) -> str:
    ratings = sum(report.ratings.values())
    feedback = sum(report.feedback.values())
    return (
        f"tickets {report.tickets_requested} requested, {report.tickets_printed} printed; "
        f"calls {report.calls} ({report.served} served, {report.no_shows} no-shows, "
        f"{report.transfers} transfers); ratings {ratings}; payments {report.payments} "
        f"({report.payments_failed} failed); feedback {feedback}; forms {report.forms}; "
        f"invoices printed {report.invoices_printed} (paper {report.printer_paper}); "
        f"robot tasks {report.robot_tasks}"
    )


def _run(make: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run a simulator until Ctrl-C or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await make(stop)

    try:
        asyncio.run(main())
    except OSError as exc:  # no broker there, a port that cannot be opened
        fail(str(exc))


@app.command("counter-bus")
def counter_bus(
    port: Port = None,
    callers: Annotated[str, typer.Option(help="Caller bus addresses, e.g. 1,2,3.")] = "1,2",
    pads: Annotated[str, typer.Option(help="Rating pad bus addresses, e.g. 21,22.")] = "21,22",
    every: Every = 5.0,
) -> None:
    """Counter callers and rating pads sharing one RS-485 line (DL/T645-style frames)."""
    _run(
        lambda stop: solo.run_counter_bus(
            port, callers=_ints(callers), pads=_ints(pads), every_s=every, stop=stop, say=_say
        )
    )


@app.command("modbus-pad")
def modbus_pad(
    port: Port = None,
    slaves: Annotated[str, typer.Option(help="Modbus slave ids, e.g. 1,2.")] = "1",
    every: Every = 0.0,
) -> None:
    """Rating pads polled as Modbus RTU slaves (9600 8N1)."""
    _run(lambda stop: solo.run_modbus_pad(port, _ints(slaves), every, stop, _say))


@app.command("ticket-machine")
def ticket_machine(port: Port = None, every: Every = 10.0) -> None:
    """A queue ticket machine (text lines): customers take tickets, the hub prints them."""
    _run(lambda stop: solo.run_ticket_machine(port, every, stop, _say))


@app.command("display")
def display(port: Port = None) -> None:
    """The call display and voice controller (STX/ETX): shows and announces calls."""
    _run(lambda stop: solo.run_display(port, stop, _say))


@app.command("printer")
def printer(
    port: Port = None,
    paper: Annotated[int, typer.Option(help="Invoices' worth of paper on the roll.")] = 50,
) -> None:
    """An ESC/POS invoice printer answering DLE EOT; runs low on paper as it prints."""
    _run(lambda stop: solo.run_printer(port, paper, stop, _say))


class _MqttKind(NamedTuple):
    name: str
    every_s: float  # its default --every
    help: str


# The vendor MQTT devices: the same options and runner, each with its own pace and help.
MQTT_KINDS = (
    _MqttKind(
        "robot",
        30.0,
        "A guide robot (vendor JSON): status reports, speak / navigate / lead / charge.",
    ),
    _MqttKind(
        "kiosk",
        20.0,
        "A payment kiosk (vendor JSON): bill payments with the account number.",
    ),
    _MqttKind(
        "feedback",
        60.0,
        "A feedback terminal (vendor JSON): complaints, suggestions, praise with a phone number.",
    ),
    _MqttKind(
        "eform",
        60.0,
        "An e-form desk (vendor JSON): forms with the applicant's name, ID and phone.",
    ),
)


def _add_mqtt_command(kind: _MqttKind) -> None:
    def command(
        broker: Broker = "mqtt://127.0.0.1:1883", serial: Serial = None, every: Every = kind.every_s
    ) -> None:
        _run(
            lambda stop: solo.run_mqtt(
                kind.name, broker, serial=serial, every_s=every, stop=stop, say=_say
            )
        )

    command.__doc__ = kind.help  # typer's help text, as each command's docstring gave it
    app.command(kind.name)(command)


for _kind in MQTT_KINDS:
    _add_mqtt_command(_kind)


@app.command("hall")
def hall(
    *,
    broker: Broker = "mqtt://127.0.0.1:1883",
    link_dir: Annotated[
        Path, typer.Option(help="Folder for the serial links (ttyBus, ttyTicket ...).")
    ] = Path("/tmp/hall-edge-sim"),
    counters: Annotated[int, typer.Option(help="Number of counters.")] = 4,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 120.0,
    devices_out: Annotated[
        Path | None, typer.Option(help="Write the devices tables of hall.toml here.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the day.")] = 1,
) -> None:
    """A whole hall day, compressed, on every simulated device (start the hub with its devices)."""

    if devices_out is not None and not devices_out.parent.is_dir():
        fail(f"--devices-out {devices_out}: expected a file in an existing folder")

    async def day(stop: asyncio.Event) -> None:
        links = open_hall_links(counters, link_dir)
        try:
            tables = devices_toml(links.devices())
            if devices_out is not None:
                devices_out.write_text(tables, encoding="utf-8")
                _say(f"the [[devices]] tables for hall.toml are written to {devices_out}")
            else:
                sys.stdout.write(tables if tables.endswith("\n") else tables + "\n")
                sys.stdout.flush()
            report = await run_hall(broker, links, speed, stop, seed=seed)
        finally:
            links.close()
        _say(f"hall day ended at {report.reached}: {_report_text(report)}")

    _run(day)
