"""The demo's private brokers: free loopback ports, deliberate limits, always stopped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.demo.brokers import demo_broker, start_brokers
from edge.errors import EdgeError
from edge.sim.mosquitto import RESERVED_PORT, Mosquitto, free_port, port_in_use


def test_start_and_stop_free_the_port(tmp_path: Path) -> None:
    b = demo_broker("hall", tmp_path)
    assert b.port != 1883
    b.start()
    try:
        assert b.running and port_in_use(b.port)
        conf = b.conf.read_text()
        assert b.conf == tmp_path / "hall-mosquitto.conf"
        assert f"listener {b.port} 127.0.0.1" in conf
        assert "max_queued_messages 100000" in conf and "max_inflight_messages 1000" in conf
        assert ("user root" in conf) == (os.geteuid() == 0)
    finally:
        b.stop()
    assert not b.running and not port_in_use(b.port)
    b.stop()  # twice is fine


def test_a_failed_second_broker_stops_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Mosquitto] = []
    real_start = Mosquitto.start

    def start(self: Mosquitto, timeout_s: float = 10.0) -> None:
        if self.name == "cloud-mosquitto":
            raise EdgeError("cloud broker: no luck")
        real_start(self, timeout_s)
        started.append(self)

    monkeypatch.setattr(Mosquitto, "start", start)
    with pytest.raises(EdgeError, match="no luck"):
        start_brokers(tmp_path, attempts=2)
    assert len(started) == 1 and not started[0].running
    assert not port_in_use(started[0].port)


def test_port_1883_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EdgeError, match="1883"):
        demo_broker("hall", tmp_path, port=RESERVED_PORT)
    assert free_port() != 1883
