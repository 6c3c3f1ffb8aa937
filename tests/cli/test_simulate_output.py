"""`hall-edge simulate hall` prints its [[devices]] tables as TOML that can be pasted."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from edge.cli import run_cli
from edge.cli.simulate import _report_text
from edge.sim.hall_day import HallDayReport
from edge.sim.mosquitto import free_port


def _hall(tmp_path: Path, *extra: str) -> list[str]:
    # No broker listens on the port: the simulator prints its tables, then stops with one
    # error line (the tables come first so that they can be pasted before the hub starts).
    url = f"mqtt://127.0.0.1:{free_port()}"
    links = str(tmp_path / "links")
    return ["simulate", "hall", "--counters", "2", "--link-dir", links, "--broker", url, *extra]


def test_the_tables_are_valid_toml_with_every_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(_hall(tmp_path)) == 2
    out, err = capsys.readouterr()
    assert out.startswith("[[devices]]\n") and "[]" not in out
    devices = tomllib.loads(out)["devices"]
    assert len(devices) == 11 and devices[0]["settings"]["port"] == str(tmp_path / "links/ttyBus")
    assert err.startswith("error: no MQTT broker at 127.0.0.1:")


def test_devices_out_says_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "devices.toml"
    assert run_cli(_hall(tmp_path, "--devices-out", str(target))) == 2
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"the [[devices]] tables for hall.toml are written to {target}"
    assert len(tomllib.loads(target.read_text(encoding="utf-8"))["devices"]) == 11


def test_the_day_report_is_words_not_a_repr() -> None:
    report = HallDayReport(tickets_requested=3, tickets_printed=3, calls=4, served=2)
    text = _report_text(report)
    assert "HallDayReport(" not in text
    assert text.startswith("tickets 3 requested, 3 printed; calls 4 (2 served,")
