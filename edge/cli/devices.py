"""`hall-edge devices`: the serial ports present and the profile and device each matches."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from edge.cli.common import CONFIG_OPTION, fail
from edge.cli.core import show_device_status
from edge.cli.listing import FORMAT_OPTION, Column, Format, show
from edge.config import load
from edge.config.hub import DeviceSection
from edge.drivers.hotplug import BY_ID_DIR, SYS_TTY, PortWatcher
from edge.drivers.profiles import load_profiles
from edge.drivers.scan import scan
from edge.errors import EdgeError

app = typer.Typer(help="Devices of the hall: their state, the serial ports present, what they are.")


def _out() -> Console:
    # Made per command so the terminal width (COLUMNS) is read when the command runs.
    return Console()


@app.callback(invoke_without_command=True)
def devices(
    ctx: typer.Context, config: CONFIG_OPTION = Path("hall.toml"), fmt: FORMAT_OPTION = Format.table
) -> None:
    """Each configured device's state, last event and error counts (`scan`: the ports)."""
    if ctx.invoked_subcommand is None:
        show_device_status(config, fmt)


@app.command("scan")
def scan_command(
    config: CONFIG_OPTION = Path("hall.toml"),
    profiles_dir: Annotated[
        Path | None, typer.Option("--profiles", "-p", help="A folder of the hall's own profiles.")
    ] = None,
    by_id_dir: Annotated[
        str, typer.Option(help="Where the by-id links are (tests, unusual systems).")
    ] = BY_ID_DIR,
    sys_tty: Annotated[str, typer.Option(help="sysfs tty class folder.")] = SYS_TTY,
    udev: Annotated[
        bool | None,
        typer.Option("--udev/--no-udev", help="Force or refuse udev (default: if udevd runs)."),
    ] = None,
    fmt: FORMAT_OPTION = Format.table,
) -> None:
    """List serial ports: by-id path, USB ids, serial number, matching profile and device.

    The config is optional: without hall.toml the ports are matched to profiles only.
    """
    if profiles_dir is not None and not profiles_dir.is_dir():
        fail(f"{profiles_dir}: expected a folder of profiles (--profiles)")
    try:
        devices: list[DeviceSection] = []
        if config.exists() or config != Path("hall.toml"):
            devices = load(config).devices
        profiles = load_profiles(profiles_dir)
        watcher = PortWatcher(by_id_dir=by_id_dir, sys_tty=sys_tty, use_udev=udev)
        mode, ports = scan(profiles, devices, watcher, str(config))
    except EdgeError as exc:
        fail(str(exc))
    rows = [
        {
            "port": s.port.device,
            "by_id": [Path(link).name for link in s.port.links],
            "usb_id": f"{s.port.vendor_id}:{s.port.product_id}" if s.port.vendor_id else None,
            "serial": s.port.serial,
            "description": s.port.description,
            "profiles": list(s.profiles),
            "devices": list(s.devices),
        }
        for s in ports
    ]
    cols = [
        Column("port", keep=True),
        Column("by_id", "by-id"),
        Column("usb_id", "USB id", keep=True, drop=1),
        Column("serial", drop=3),
        Column("description", drop=2),
        Column("profiles"),
        Column("devices", "device"),
    ]
    show(fmt, cols, rows)
    if fmt is Format.table:
        note = " (no udevd: USB details read from /sys)" if mode == "polling" else ""
        _out().print(f"{len(ports)} serial port(s){note}", highlight=False)
