"""A test's wait: `edge.sim.waits.settles`, failing the test when it does not."""

from __future__ import annotations

from collections.abc import Callable

from edge.sim.waits import settles


def wait_until(
    predicate: Callable[[], object], timeout: float, what: str, every: float = 0.05
) -> None:
    """Until `predicate()` holds; AssertionError naming `what` after `timeout` seconds."""
    if not settles(predicate, timeout, every):
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
