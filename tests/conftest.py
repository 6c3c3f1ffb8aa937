"""Fixtures shared by the whole suite: private Mosquitto brokers on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.sim.mosquitto import Mosquitto


@pytest.fixture
def hall_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "hall-broker")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def cloud_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "cloud-broker")
    b.start()
    yield b
    b.stop()
