"""The journal's waiting room in two lanes, so that one flooding device cannot hold up the
others (docs/contract.md §7, "Fairness").

Everything read from the brokers and devices waits here for its group commit. In one FIFO,
an event of a quiet device read right after a burst of 1,000 from a flooding one waited
for two or three commits. Here a device with more than `share` items waiting goes to the
slow lane and stays there until its slow items are gone; each batch takes the fast lane
first. A device's own items never change order: its older ones are in the fast lane
(taken first), its newer ones in the slow lane behind them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Counts:
    fast: int = 0
    slow: int = 0


class Lanes(Generic[T]):
    """Two FIFOs with per-source counts; `take` forms a batch, `drop` removes it after."""

    def __init__(self, share: int) -> None:
        self.share = max(1, share)
        self._fast: deque[tuple[str, T]] = deque()
        self._slow: deque[tuple[str, T]] = deque()
        self._counts: dict[str, _Counts] = {}
        self._taken = (0, 0)
        self.slowed = 0  # items that went to the slow lane, since start

    def __len__(self) -> int:
        return len(self._fast) + len(self._slow)

    def put(self, source: str, item: T) -> None:
        c = self._counts.get(source)
        if c is None:
            c = self._counts[source] = _Counts()
        if c.slow or c.fast >= self.share:
            c.slow += 1
            self.slowed += 1
            self._slow.append((source, item))
        else:
            c.fast += 1
            self._fast.append((source, item))

    def take(self, limit: int) -> list[T]:
        """The next batch (fast lane first), left in place until `drop`."""
        n_fast = min(len(self._fast), limit)
        n_slow = min(len(self._slow), limit - n_fast)
        self._taken = (n_fast, n_slow)
        fast, slow = self._fast, self._slow
        return [fast[i][1] for i in range(n_fast)] + [slow[i][1] for i in range(n_slow)]

    def drop(self) -> None:
        """Remove the batch the last `take` formed (it is journaled)."""
        n_fast, n_slow = self._taken
        self._taken = (0, 0)
        counts = self._counts
        for _ in range(n_fast):
            source, _item = self._fast.popleft()
            c = counts[source]
            c.fast -= 1
            if not c.fast and not c.slow:
                del counts[source]
        for _ in range(n_slow):
            source, _item = self._slow.popleft()
            c = counts[source]
            c.slow -= 1
            if not c.fast and not c.slow:
                del counts[source]
