"""The hall broker as shipped: systemd/mosquitto-hall.conf as `hall-edge install` renders it
for a staged root (its password file, ACL and persistence under that root), run on a free
loopback port instead of 1883, with a pid file (what the doctor reads)."""

from __future__ import annotations

import shutil

import pytest

from edge.install.files import broker_conf
from edge.install.layout import Layout
from edge.sim.mosquitto import Mosquitto, free_port, mosquitto_exe


def needs_mosquitto() -> None:
    """Skip the test where Mosquitto (with its password tool) is not installed."""
    if mosquitto_exe() is None or shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto is not installed (./hall setup installs it)")


def shipped_broker(layout: Layout) -> Mosquitto:
    """Not started yet: its accounts (`broker sync`) may be made first."""
    needs_mosquitto()
    port = free_port()
    conf = broker_conf(layout).replace("listener 1883", f"listener {port} 127.0.0.1")
    layout.broker_state.mkdir(parents=True, exist_ok=True)
    layout.broker_pid.parent.mkdir(parents=True, exist_ok=True)
    conf += f"pid_file {layout.broker_pid}\n"
    # The pid file is written before the listener opens: started means it is there.
    return Mosquitto(layout.root, port, name="test-mosquitto", conf=conf)
