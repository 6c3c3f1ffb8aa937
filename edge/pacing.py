"""Pacing for the links: reconnect backoff and the backlog drain's token bucket."""

from __future__ import annotations

import random
import time


class Backoff:
    """Exponential backoff with full jitter, so a hall full of hubs does not reconnect in step."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high, self.attempt = low, high, 0

    def next(self) -> float:
        cap = min(self.high, self.low * (2**self.attempt))
        self.attempt += 1
        return random.uniform(self.low / 2, cap)

    def reset(self) -> None:
        self.attempt = 0


class TokenBucket:
    """Paces the backlog drain: `rate` events/s with a burst of one window."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.t = time.monotonic()

    def take(self) -> bool:
        return self.take_up_to(1) == 1

    def take_up_to(self, n: int, least: int = 1) -> int:
        """As many of `n` whole tokens as there are (0 to n), taken at once; none unless
        there are at least `least` (a drain then sends in runs, not one event per wake-up)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens < min(least, n):
            return 0
        got = max(0, min(n, int(self.tokens)))
        self.tokens -= got
        return got

    def wait_s(self, n: int = 1) -> float:
        """Until `n` tokens are there (at least 1 ms)."""
        return max(0.001, (min(n, self.burst) - self.tokens) / self.rate)
