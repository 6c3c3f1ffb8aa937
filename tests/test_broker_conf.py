"""systemd/mosquitto-hall.conf: the persistence setting chosen by bench/broker_powercut.py
and TCP_NODELAY, accepted by the Mosquitto installed here (a real broker started on them)."""

from __future__ import annotations

from pathlib import Path

from edge.sim.mosquitto import Mosquitto
from tests.support.hall import ROOT

CONF = ROOT / "systemd" / "mosquitto-hall.conf"


def _settings() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in CONF.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            out[key] = value
    return out


def test_the_measured_persistence_setting_and_nodelay() -> None:
    s = _settings()
    assert s["persistence"] == "true"
    assert (s["autosave_on_changes"], s["autosave_interval"]) == ("true", "10")
    assert s["set_tcp_nodelay"] == "true"


def test_mosquitto_here_runs_with_them(tmp_path: Path) -> None:
    keep = ("autosave_on_changes", "autosave_interval", "set_tcp_nodelay")
    b = Mosquitto(
        tmp_path / "b", settings=[f"{k} {v}" for k, v in _settings().items() if k in keep]
    )
    assert "autosave_interval 1" not in b.conf.read_text().splitlines()
    b.start()  # an unknown option would stop it: "Error: Unknown configuration variable"
    try:
        assert b.running
    finally:
        b.stop()
