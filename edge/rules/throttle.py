"""Per-key throttle, de-duplication and debounce of rule firings (times in epoch seconds).

- throttle: at most one firing per key per period, counted from the last firing.
- dedupe: a match is dropped while the same key was *seen* (fired or dropped) less than
  a period ago, so a run of sightings with short gaps counts once ("once per visit").
- debounce: a match does not fire at once but after `period`; a newer match of the key
  restarts the timer (unless `restart` is off: "still true after 10 minutes"), and an
  event of a `cancel_on` type with the same key cancels it. Expiries fire from tick().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Gate:
    """Throttle (refresh=False) or dedupe (refresh=True) memory: key -> last time."""

    def __init__(self, period: float, refresh: bool) -> None:
        self.period = period
        self.refresh = refresh
        self.last: dict[str, float] = {}

    def admit(self, key: str, t: float) -> bool:
        """True if a firing for `key` at `t` may go ahead; records it either way as needed."""
        last = self.last.get(key)
        if last is not None and t - last < self.period:
            if self.refresh:
                self.last[key] = max(last, t)
            return False
        self.last[key] = t
        return True

    def prune(self, now: float) -> None:
        """Forget keys whose period is over (bounds memory)."""
        for key in [k for k, t in self.last.items() if now - t >= self.period]:
            del self.last[key]


@dataclass(slots=True)
class Pending:
    """A debounced firing waiting for its time; `event` is a plain snapshot of the match."""

    due: float
    event: dict[str, Any]


class Debouncer:
    """Pending firings per key."""

    def __init__(self, period: float, restart: bool) -> None:
        self.period = period
        self.restart = restart
        self.pending: dict[str, Pending] = {}

    def match(self, key: str, t: float, event: dict[str, Any]) -> float | None:
        """A match at `t`: returns the new due time, or None if an existing timer runs on."""
        current = self.pending.get(key)
        if current is not None and not self.restart:
            return None
        due = t + self.period
        self.pending[key] = Pending(due, event)
        return due

    def cancel(self, key: str) -> bool:
        """Drop the pending firing of `key`; True if there was one."""
        return self.pending.pop(key, None) is not None

    def expired(self, now: float) -> list[tuple[str, Pending]]:
        """Remove and return the firings due at `now`, oldest first."""
        due = sorted(
            ((k, p) for k, p in self.pending.items() if p.due <= now), key=lambda kp: kp[1].due
        )
        for key, _ in due:
            del self.pending[key]
        return due

    def next_due(self) -> float | None:
        """The earliest due time, if any."""
        return min((p.due for p in self.pending.values()), default=None)

    def dump(self) -> dict[str, Any]:
        """Plain data for the state blob."""
        return {k: {"due": p.due, "event": p.event} for k, p in self.pending.items()}

    def load(self, data: dict[str, Any]) -> None:
        """Restore what `dump` returned."""
        self.pending = {k: Pending(float(v["due"]), dict(v["event"])) for k, v in data.items()}
