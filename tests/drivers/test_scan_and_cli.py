"""`hall-edge devices scan`, `hall-edge profiles check|list`, `hall-edge simulate --help`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from click.testing import CliRunner

from edge.cli import devices as devices_cli
from edge.cli import profiles as profiles_cli
from edge.cli import simulate as simulate_cli
from edge.config.hub import DeviceSection
from edge.drivers.hotplug import PortInfo
from edge.drivers.profiles import BUILTIN_DIR, ProfileSet
from edge.drivers.scan import scan_ports
from edge.sim.ports import PtyLink

CH340 = PortInfo(
    "/dev/ttyUSB0",
    ("/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0",),
    "1a86",
    "7523",
    None,
    "QinHeng CH340",
)
PRINTER = PortInfo(
    "/dev/ttyUSB1",
    ("/dev/serial/by-id/usb-Winbond_POS_Printer-if00",),
    "0416",
    "5011",
    "P123",
    "Printer",
)


def test_scan_names_matching_profiles_and_configured_devices(profiles: ProfileSet) -> None:
    devices = [
        DeviceSection(
            id="caller-1",
            profile="counter-caller-485",
            settings={"port": "/dev/ttyUSB0", "address": 1},
        ),
        DeviceSection(
            id="printer-1", profile="invoice-printer-escpos", settings={"serial_number": "P123"}
        ),
        DeviceSection(id="robot-1", profile="guide-robot-mqtt", settings={"serial": "GB"}),
    ]
    found = {s.port.device: s for s in scan_ports([CH340, PRINTER], profiles, devices)}
    assert {"counter-caller-485", "rating-pad-485"} <= set(found["/dev/ttyUSB0"].profiles)
    assert found["/dev/ttyUSB0"].devices == ("caller-1",)
    assert found["/dev/ttyUSB1"].profiles == ("invoice-printer-escpos",)
    assert found["/dev/ttyUSB1"].devices == ("printer-1",)


def runner_for(app: typer.Typer) -> tuple[CliRunner, Any]:
    # Wide enough for rich's tables not to wrap the names the tests look for.
    return CliRunner(env={"COLUMNS": "250"}), typer.main.get_command(app)


def test_every_command_has_help_text() -> None:
    for app in (devices_cli.app, profiles_cli.app, simulate_cli.app):
        group = typer.main.get_command(app)
        assert group.help and hasattr(group, "commands")
        for name, command in group.commands.items():
            assert command.help, f"{name} has no help text"
            options = [p for p in command.params if p.param_type_name == "option"]
            assert options, f"{name} has no options"
            for param in options:
                assert param.help, f"{name} {param.name} has no help text"


def test_profiles_check_all_and_one_bad_file(tmp_path: Path) -> None:
    runner, cmd = runner_for(profiles_cli.app)
    result = runner.invoke(cmd, ["check"])
    assert result.exit_code == 0, result.output
    assert "counter-caller-485" in result.output and "profile(s) OK" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (BUILTIN_DIR / "call-display-485.yaml")
        .read_text()
        .replace("baudrate: 9600", "baudrate: fast")
    )
    result = runner.invoke(cmd, ["check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: line" in result.stderr and "transport.baudrate" in result.stderr
    result = runner.invoke(cmd, ["list"])
    assert result.exit_code == 0 and "guide-robot-mqtt" in result.output


def test_devices_scan_with_a_config_and_a_by_id_folder(tmp_path: Path) -> None:
    by_id = tmp_path / "by-id"
    link = PtyLink(by_id / "usb-1a86_USB_Serial-if00-port0")
    try:
        config = tmp_path / "hall.toml"
        config.write_text(
            '[hall]\nid = "h1"\n[hall_broker]\nurl = "mqtt://127.0.0.1:1"\n'
            '[cloud]\nurl = "mqtt://127.0.0.1:2"\n'
            '[[devices]]\nid = "caller-1"\nprofile = "counter-caller-485"\n'
            f'settings = {{ port = "{link.hub_path}", address = 1 }}\n'
        )
        runner, cmd = runner_for(devices_cli.app)
        args = [
            "scan",
            "-c",
            str(config),
            "--by-id-dir",
            str(by_id),
            "--sys-tty",
            str(tmp_path / "none"),
            "--no-udev",
        ]
        result = runner.invoke(cmd, args)
        assert result.exit_code == 0, result.output
        assert link.path in result.output and "caller-1" in result.output
        assert "1 serial port(s) (no udevd" in result.output
        config.write_text(config.read_text().replace("counter-caller-485", "counter-caler"))
        result = runner.invoke(cmd, args)
        assert result.exit_code == 2 and "devices[0] (caller-1).profile" in result.stderr
    finally:
        link.unplug()


def test_simulate_lists_every_kind() -> None:
    runner, cmd = runner_for(simulate_cli.app)
    result = runner.invoke(cmd, ["--help"])
    assert result.exit_code == 0
    for kind in (
        "counter-bus",
        "modbus-pad",
        "ticket-machine",
        "display",
        "printer",
        "robot",
        "kiosk",
        "feedback",
        "eform",
        "hall",
    ):
        assert kind in result.output
