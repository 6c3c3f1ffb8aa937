"""Waiting for something a real process, broker or thread does in its own time."""

from __future__ import annotations

import time
from collections.abc import Callable


def settles(predicate: Callable[[], object], timeout: float, every: float = 0.05) -> bool:
    """True as soon as `predicate()` holds; False if it still does not after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())
