"""The hub's one clock: what time it is in the hall, for every stage that stamps a time.

A real hub runs on the wall clock (`utcnow`). The demo runs a hall day in minutes: its
devices and its hub share one `ScaledClock`, so events carry simulated time and the KPIs
and queue waits come out in the hall's minutes, not in the demo's seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]  # aware, UTC


def utcnow() -> datetime:
    return datetime.now(UTC)


class ScaledClock:
    """Time that starts at `start` and runs `speed` times faster than the wall clock.

    Made with `running=False` it stands at `start` until `begin()`: the demo builds its hub
    on the clock first and starts the day once brokers, links and hub are up.
    """

    def __init__(self, start: datetime, speed: float, running: bool = True) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs an aware start time")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self._t0: float | None = time.monotonic() if running else None

    def begin(self) -> None:
        """Set the clock going from `start` (once; a running clock is left alone)."""
        if self._t0 is None:
            self._t0 = time.monotonic()

    def now(self) -> datetime:
        if self._t0 is None:
            return self.start
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def to_real_s(self, simulated_s: float) -> float:
        """How long `simulated_s` of this clock's time takes on the wall clock."""
        return max(0.0, simulated_s) / self.speed
