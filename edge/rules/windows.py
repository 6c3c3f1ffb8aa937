"""Per-key windows over event time: count, sum, avg, min, max and last value over a period.

- sliding: the values of the last `period` seconds before the moment asked about (the
  current event's time, or `now` in tick). Old values leave as time moves on.
- tumbling: fixed buckets of `period` seconds aligned on the hall's local midnight (so a
  1h window is 09:00-10:00); a query returns the aggregate of the bucket holding the moment
  asked about, and an empty result once that bucket is over.

Keys are strings (`3` and `"3"` are the same counter). Times are epoch seconds. State is
plain lists so it serialises as JSON in the engine's state blob.
"""

from __future__ import annotations

from collections import deque
from typing import Any

AGGREGATES = ("count", "sum", "avg", "min", "max", "last")


class SlidingWindow:
    """Values of the last `period` seconds, per key (at most `max_items` per key)."""

    kind = "sliding"

    def __init__(self, period: float, max_items: int = 10_000) -> None:
        self.period = period
        self.max_items = max_items
        self._keys: dict[str, deque[tuple[float, float]]] = {}
        self._sums: dict[str, float] = {}

    def add(self, key: str, t: float, value: float) -> None:
        """Record `value` for `key` at time `t`."""
        items = self._keys.get(key)
        if items is None:
            items = self._keys[key] = deque()
            self._sums[key] = 0.0
        if items and t < items[-1][0]:
            # An event older than the newest one (a late device clock): keep time order so
            # eviction from the left stays correct.
            t = items[-1][0]
        items.append((t, value))
        self._sums[key] += value
        if len(items) > self.max_items:
            _, old = items.popleft()
            self._sums[key] -= old
        self._evict(key, t)

    def _evict(self, key: str, now: float) -> None:
        items = self._keys[key]
        horizon = now - self.period
        while items and items[0][0] <= horizon:
            _, old = items.popleft()
            self._sums[key] -= old
        if not items:
            self._sums[key] = 0.0  # no drift from repeated float subtraction

    def query(self, key: str, now: float, aggregate: str) -> float | int | None:
        """The aggregate over (now - period, now]; count/sum are 0 and the others None if empty."""
        items = self._keys.get(key)
        if items is not None:
            self._evict(key, now)
        if not items:
            return 0 if aggregate in ("count", "sum") else None
        if aggregate == "count":
            return len(items)
        if aggregate == "sum":
            return self._sums[key]
        if aggregate == "avg":
            return self._sums[key] / len(items)
        if aggregate == "last":
            return items[-1][1]
        values = [v for _, v in items]
        return min(values) if aggregate == "min" else max(values)

    def prune(self, now: float) -> None:
        """Forget keys with nothing left inside the period (bounds memory)."""
        for key in list(self._keys):
            self._evict(key, now)
            if not self._keys[key]:
                del self._keys[key]
                del self._sums[key]

    def dump(self) -> dict[str, Any]:
        """Plain data for the state blob."""
        return {key: [[t, v] for t, v in items] for key, items in self._keys.items() if items}

    def load(self, data: dict[str, Any]) -> None:
        """Restore what `dump` returned."""
        self._keys.clear()
        self._sums.clear()
        for key, items in data.items():
            kept = deque((float(t), float(v)) for t, v in items[-self.max_items :])
            self._keys[key] = kept
            self._sums[key] = sum(v for _, v in kept)


class TumblingWindow:
    """Fixed buckets of `period` seconds aligned on local midnight, per key."""

    kind = "tumbling"

    def __init__(self, period: float) -> None:
        self.period = period
        # key -> [bucket start (local seconds), count, sum, min, max, last]
        self._keys: dict[str, list[float]] = {}

    def _bucket(self, local_t: float) -> float:
        return local_t - (local_t % self.period)

    def add(self, key: str, local_t: float, value: float) -> None:
        """Record `value` for `key`; `local_t` is epoch seconds shifted by the hall's UTC offset."""
        start = self._bucket(local_t)
        b = self._keys.get(key)
        if b is None or start > b[0]:
            self._keys[key] = [start, 1, value, value, value, value]
            return
        if start < b[0]:
            return  # a late event for a bucket already closed: it cannot change the past
        b[1] += 1
        b[2] += value
        b[3] = min(b[3], value)
        b[4] = max(b[4], value)
        b[5] = value

    def query(self, key: str, local_t: float, aggregate: str) -> float | int | None:
        """The aggregate of the bucket holding `local_t`."""
        b = self._keys.get(key)
        if b is None or b[0] != self._bucket(local_t):
            return 0 if aggregate in ("count", "sum") else None
        count = int(b[1])
        if aggregate == "count":
            return count
        if aggregate == "sum":
            return b[2]
        if aggregate == "avg":
            return b[2] / count
        return {"min": b[3], "max": b[4], "last": b[5]}[aggregate]

    def prune(self, local_now: float) -> None:
        """Forget keys whose bucket is over."""
        current = self._bucket(local_now)
        for key in [k for k, b in self._keys.items() if b[0] < current]:
            del self._keys[key]

    def dump(self) -> dict[str, Any]:
        """Plain data for the state blob."""
        return {key: list(b) for key, b in self._keys.items()}

    def load(self, data: dict[str, Any]) -> None:
        """Restore what `dump` returned."""
        self._keys = {key: [float(x) for x in b] for key, b in data.items() if len(b) == 6}


Window = SlidingWindow | TumblingWindow
