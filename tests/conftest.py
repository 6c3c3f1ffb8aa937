"""Fixtures shared by the whole suite: private Mosquitto brokers on free loopback ports;
and the groups that keep tests together when the suite runs on several workers (xdist)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from edge.sim.mosquitto import Mosquitto

# One RabbitMQ devcluster per worker would cost its start (~20 s) and its memory again.
DEVCLUSTER_GROUP = "devcluster"


def pytest_configure(config: pytest.Config) -> None:
    # xdist registers it too; registered here so that a run without xdist does not warn.
    config.addinivalue_line("markers", "xdist_group(name): run on one xdist worker, in order")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`./hall test` runs the suite on two workers with `--dist loadgroup`, which sends each
    test anywhere unless it has a group. A module whose tests share a module-scoped fixture
    (one hub or broker for the module, its state carried from test to test) stays on one
    worker, in file order; so do all the tests of the one devcluster."""
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        defs = item._fixtureinfo.name2fixturedefs
        if "cluster" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group(DEVCLUSTER_GROUP))
        elif any(d[-1].scope == "module" for d in defs.values() if d):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__ if item.module else ""))


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
