"""The backlog never takes more than a quarter of the cloud window; live events get the
rest (docs/contract.md §7.3). In process, with a real Mosquitto behind a proxy that
swallows its PUBACKs, so what is in flight stays in flight and can be counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.config.hub import CloudSection
from edge.model import Event
from edge.sim.mosquitto import Mosquitto
from edge.store import Journal, JournalReader
from edge.uplink import Uplink
from tests.support.proxy import StallProxy


def _events(lo: int, hi: int) -> list[Event]:
    return [
        Event("rating.submitted", "pad-1", {"level": 5, "n": i}, source_id=f"r{i}")
        for i in range(lo, hi)
    ]


async def _until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.02)


def test_a_backlog_leaves_three_quarters_of_the_window_to_live_events(
    tmp_path: Path, cloud_broker: Mosquitto
) -> None:
    journal = Journal(tmp_path / "hall.db", "test-hall", ZoneInfo("Asia/Shanghai"))
    reader = JournalReader(tmp_path / "hall.db")
    executor = ThreadPoolExecutor(1)
    proxy = StallProxy(cloud_broker.port)
    cfg = CloudSection(url=proxy.url, window=8, drain_rate=1e9)

    async def scenario() -> tuple[int, int, int]:
        uplink = Uplink(cfg, "test-hall", "t", journal, executor, reader, device_states=dict)
        uplink.LIVE_LIMIT = 4  # a small live queue: its overflow goes out as backlog
        task = asyncio.create_task(uplink.run())
        try:
            await _until(lambda: uplink.stats.connected, "connected")
            await asyncio.sleep(0.3)  # the announcement's PUBACKs are in
            proxy.stall()  # from here nothing is acknowledged: in flight stays in flight
            # 20 events at once overflow the live queue: all of them are backlog now.
            uplink.notify(journal.write_batch(_events(0, 20)).written)
            await _until(lambda: uplink.stats.sent >= 2, "the backlog sent")
            await asyncio.sleep(0.3)  # it would take more now if it were allowed to
            backlog_in_flight = uplink.stats.in_flight
            # Live events, one batch at a time (no overflow): they take the free slots.
            for i in range(20, 30):
                uplink.notify(journal.write_batch(_events(i, i + 1)).written)
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            return backlog_in_flight, uplink.stats.in_flight, uplink.stats.sent
        finally:
            uplink.closing = True
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            uplink.reader_executor.shutdown(wait=False)

    try:
        backlog_in_flight, in_flight, sent = asyncio.run(scenario())
    finally:
        executor.shutdown()
        reader.close()
        journal.close()
    assert backlog_in_flight == 2, "a quarter of the window of 8, not more"
    assert in_flight == 8, "live events took the other six slots"
    assert sent == 8
