"""Fault injection: real brokers, the real hub process, one fault each under load.

`pytest tests/faults` runs them at CI size (a few thousand events each). `--soak` multiplies
every count and duration by `--soak-factor` (default 50) for runs by hand that take hours;
the options exist only when tests/faults (or a file in it) is named on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("faults", "fault-injection suite")
    group.addoption("--soak", action="store_true", help="long fault runs, by hand, not in CI")
    group.addoption(
        "--soak-factor",
        type=int,
        default=50,
        help="with --soak: how many times more events and time",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: fault-injection test with real brokers and hub process"
    )
    config.addinivalue_line("markers", "slow: longer than ~20 s at CI size")


@dataclass(frozen=True)
class Scale:
    """How big a fault run is: counts and durations are multiplied by `factor` in a soak."""

    factor: int
    soak: bool

    def n(self, count: int) -> int:
        return count * self.factor

    def s(self, seconds: float) -> float:
        return seconds * self.factor

    def timeout(self, seconds: float) -> float:
        """A wait that grows with the run (a soak drains more backlog)."""
        return seconds * self.factor


@pytest.fixture
def scale(request: pytest.FixtureRequest) -> Scale:
    soak = bool(request.config.getoption("--soak", default=False))
    factor = int(request.config.getoption("--soak-factor", default=50)) if soak else 1
    return Scale(factor, soak)
