"""systemd/mosquitto-hall.conf: the persistence setting chosen by bench/broker_powercut.py
and TCP_NODELAY, accepted by the Mosquitto installed here (a real broker started on them);
and TCP_NODELAY in every other broker config the project writes."""

from __future__ import annotations

from pathlib import Path

from edge.demo.brokers import demo_broker
from edge.install.files import broker_conf
from edge.install.layout import Layout
from edge.sim.mosquitto import Mosquitto
from tests.support.hall import ROOT

CONF = ROOT / "systemd" / "mosquitto-hall.conf"


def _settings() -> dict[str, str]:
    return _keys(CONF.read_text())


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


def _keys(conf_text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in conf_text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            out[key] = value
    return out


def test_every_conf_the_project_writes_turns_nagle_off(tmp_path: Path) -> None:
    """The installer's conf, the test/bench brokers and the demo's: `set_tcp_nodelay true`
    (issue #18: 44 ms per device reply with Nagle on, 1.7 ms off)."""
    written = {
        "installer": broker_conf(Layout(tmp_path / "root")),
        "edge.sim": Mosquitto(tmp_path / "sim").conf.read_text(),
        "edge.sim with settings": Mosquitto(
            tmp_path / "set", settings=["autosave_interval 10"]
        ).conf.read_text(),
        "demo hall": demo_broker("hall", tmp_path / "demo").conf.read_text(),
        "demo cloud": demo_broker("cloud", tmp_path / "demo").conf.read_text(),
    }
    for name, text in written.items():
        assert _keys(text).get("set_tcp_nodelay") == "true", name
        assert text.count("set_tcp_nodelay") == 1, name


def test_nagle_stays_on_only_when_asked(tmp_path: Path) -> None:
    # bench/command_latency.py's baseline: the same broker with Nagle on.
    conf = Mosquitto(tmp_path / "nagle", nodelay=False).conf.read_text()
    assert "set_tcp_nodelay" not in conf
    given = Mosquitto(tmp_path / "given", settings=["set_tcp_nodelay false"]).conf.read_text()
    assert _keys(given)["set_tcp_nodelay"] == "false"
