"""Waiting on the in-process hub: until it is connected, until it has delivered everything."""

from __future__ import annotations

import asyncio
import time

from edge.demo.tally import CloudTally
from edge.errors import EdgeError
from edge.hub.app import Hub


async def hub_ready(hub: Hub, task: asyncio.Task[None], timeout_s: float) -> None:
    """Wait until the hub is connected to both brokers; EdgeError if it fails or is slow."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if task.done():
            task.result()  # raises what stopped it
            raise EdgeError("the hub stopped during start-up")
        if hub.hall.connected.is_set() and hub.uplink.stats.connected:
            return
        await asyncio.sleep(0.05)
    raise EdgeError(
        f"the hub did not connect to both brokers in {timeout_s:.0f}s: "
        f"hall {hub.hall.last_error or 'pending'}, cloud {hub.uplink.stats.last_error or 'pending'}"
    )


async def drained(hub: Hub, tally: CloudTally, timeout_s: float, hurry: asyncio.Event) -> bool:
    """Wait until the hub has journaled and delivered everything and the watcher got it."""
    deadline = time.monotonic() + timeout_s
    settled: float | None = None
    while time.monotonic() < deadline and not hurry.is_set():
        m = hub.metrics()
        if m["pending"] == 0 and m["backlog"] == 0:
            settled = settled or time.monotonic()
            # A rule may keep an event in the hall (drop): the last hallseq never arrives,
            # so give the watcher a moment rather than waiting for it forever.
            if tally.max_seq() >= hub.journal.last_seq or time.monotonic() - settled > 1.0:
                return True
        else:
            settled = None
        await asyncio.sleep(0.05)
    return False
