"""What `hall-edge demo` was asked for, and the simulated hall day it runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path

from edge.config.http import listen_address
from edge.errors import EdgeError
from edge.sim.hall_day import HALL_TZ, SimClock

OPENS = clock_time(8, 30)
CLOSES = clock_time(17, 0)
PAPER_INVOICES = 60  # the printer's roll runs low in the afternoon of a full demo day


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What `hall-edge demo` was asked for."""

    duration_s: float | None = None  # None: until the hall day closes or Ctrl-C
    speed: float = 120.0  # simulated seconds per real second
    counters: int = 4
    workdir: Path | None = None  # None: a temporary folder, removed afterwards
    live: bool = True  # False: a progress line every `every_s` seconds
    every_s: float = 5.0
    seed: int = 1
    console: str = "127.0.0.1:9580"  # the hall console's listen address; "" for none

    def check(self) -> None:
        """EdgeError for options the demo cannot run with."""
        if self.duration_s is not None and self.duration_s <= 0:
            raise EdgeError(f"--duration: expected seconds above 0 (got {self.duration_s:g})")
        if not 1 <= self.speed <= 10_000:
            raise EdgeError(f"--speed: expected 1 to 10000 (got {self.speed:g})")
        if not 2 <= self.counters <= 12:
            raise EdgeError(f"--counters: expected 2 to 12 (got {self.counters})")
        try:
            listen_address(self.console)
        except ValueError as exc:
            raise EdgeError(f"--console: expected {exc} (got {self.console!r})") from None
        if self.every_s <= 0:
            raise EdgeError(f"progress interval: expected seconds above 0 (got {self.every_s:g})")


class HallClock:
    """The simulated hall day's clock: the hub, the devices and the header all read it."""

    def __init__(self, speed: float) -> None:
        today = datetime.now(HALL_TZ).date()
        # Standing at opening time until the day begins (run_hall sets it going).
        self.sim = SimClock(speed, datetime.combine(today, OPENS, HALL_TZ), running=False)
        self.closes = datetime.combine(today, CLOSES, HALL_TZ)

    def text(self) -> str:
        return f"{min(self.sim.now(), self.closes):%H:%M}"
