"""Fixtures shared by the whole suite: private Mosquitto brokers on free loopback ports;
and the hooks of a run on several xdist workers (how tests are split, reports they send)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from edge.sim.mosquitto import Mosquitto


@pytest.hookimpl(optionalhook=True)  # a hook of xdist, which a run without it lacks
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Whatever `--dist` says: module by module, the devcluster's modules on one worker
    (tests/support/xdist_groups.py says why)."""
    from tests.support.xdist_groups import ModuleGroups  # noqa: PLC0415 - xdist runs only

    return ModuleGroups(config, log)


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


def _utf8(text: str) -> str:
    """`text` with any lone surrogate escaped: the poison tests' hubs log the undecodable
    bytes they were sent, and xdist cannot send a report holding one to the controller
    (its worker dies with an INTERNALERROR)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    report.sections = [(title, _utf8(text)) for title, text in report.sections]
    if report.longrepr is not None and _utf8(str(report.longrepr)) != str(report.longrepr):
        report.longrepr = _utf8(str(report.longrepr))
    return report
