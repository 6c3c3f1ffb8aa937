"""Group commit: everything the hub learns is journaled in batches, then acknowledged.

Items wait in memory only while the previous batch is being committed, so a burst turns
into large batches by itself (no timer adds latency at low rates). The journal runs on one
dedicated thread: SQLite's commit and fsync release the GIL, so the loop keeps reading the
brokers while a batch is being made durable.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from edge.errors import SpoolFullError, described
from edge.hub.gate import JournalGate
from edge.hub.lanes import Lanes
from edge.model import Event, JournaledEvent
from edge.store import BatchResult, DeadLetter, Journal, poison_letter

log = logging.getLogger(__name__)

Ack = Callable[[], None]


@dataclass(slots=True)
class _Item:
    event: Event | None
    dead: DeadLetter | None
    ack: Ack | None


class JournalPipeline:
    """Queue of events and dead letters on their way into the journal."""

    def __init__(
        self,
        journal: Journal,
        executor: JournalGate,
        max_rows: int,
        on_written: Callable[[BatchResult], None],
        decide: Callable[[JournaledEvent], bool] | None = None,
        rule_state: Callable[[], bytes | None] | None = None,
        linger_s: float = 0.0,
    ) -> None:
        self.journal = journal
        self.executor = executor
        self.max_rows = max_rows
        self.on_written = on_written
        self.decide = decide
        self.rule_state = rule_state
        # A device may have a quarter of a batch waiting before its next ones queue behind
        # everyone else's (edge/hub/lanes.py).
        self._items: Lanes[_Item] = Lanes(max(1, max_rows // 4))
        self._wake = asyncio.Event()
        self.disk_full = False
        self.batches = 0
        self.journaled = 0
        self.duplicates = 0
        self.dead_letters = 0
        self.idle = asyncio.Event()
        self.idle.set()
        # Back-pressure: above the high mark the hall link stops reading (the broker keeps
        # the messages, on disk if it must); below the low mark it reads again.
        self.linger_s = linger_s
        self.high_water = 4 * max_rows
        self.low_water = max_rows
        self.on_low_water: list[Callable[[], None]] = []

    def submit(self, event: Event, ack: Ack | None = None) -> None:
        self._items.put(event.device_id, _Item(event, None, ack))
        self._wake.set()
        self.idle.clear()

    def dead_letter(self, dead: DeadLetter, ack: Ack | None = None) -> None:
        self._items.put(dead.device_id or dead.topic[:80], _Item(None, dead, ack))
        self._wake.set()
        self.idle.clear()

    @property
    def pending(self) -> int:
        return len(self._items)

    async def run(self) -> None:
        while True:
            if not self._items:
                self.idle.set()
                self._wake.clear()
                await self._wake.wait()
                if self.linger_s > 0 and len(self._items) < self.max_rows:
                    # A trickle (say 1,000 events/s) would otherwise commit one event at a
                    # time, each with its fsync and bookkeeping: a moment's wait lets a few
                    # gather, for far less CPU per event at a small cost in latency.
                    await asyncio.sleep(self.linger_s)
            batch = self._items.take(self.max_rows)
            n = len(batch)
            events = [it.event for it in batch if it.event is not None]
            dead = [it.dead for it in batch if it.dead is not None]
            try:
                try:
                    result = await self._journal(events, dead)
                except SpoolFullError:
                    raise
                except Exception as exc:
                    # Something in this batch broke the transaction. Each item is tried
                    # alone: what fails a second time is a dead letter, and the rest is
                    # journaled. A journal that cannot take even a dead letter is broken,
                    # and that one is fatal.
                    log.error("journal: batch of %d failed (%s); isolating", n, described(exc))
                    result = await self._isolate(events, dead)
            except SpoolFullError as exc:
                # Nothing of the batch is committed, so nothing is acknowledged: the brokers
                # and serial devices keep it until there is room again.
                if not self.disk_full:
                    log.error("journal full, holding acknowledgements: %s", exc)
                self.disk_full = True
                await asyncio.sleep(1.0)
                continue
            self.disk_full = False
            self._items.drop()
            for it in batch:
                if it.ack is not None:
                    try:
                        it.ack()
                    except Exception:
                        log.exception("acknowledging a journaled message failed")
            self.batches += 1
            self.journaled += len(result.written)
            self.duplicates += result.duplicates
            self.dead_letters += result.dead_letters
            self.on_written(result)
            if len(self._items) <= self.low_water:
                for resume in self.on_low_water:
                    resume()

    async def _journal(self, events: list[Event], dead: list[DeadLetter]) -> BatchResult:
        journal, gate = self.journal, self.executor
        # Held from the first INSERT to the end of the COMMIT: no other journal call may
        # run inside this open transaction (they queue in the gate and run after it).
        gate.hold()
        try:
            result = journal.write_batch(events, dead, self.decide, self.rule_state, commit=False)
            if result.committed:
                return result  # the disk-full path committed it already
            try:
                await gate.on_thread(journal.commit_pending)
            except sqlite3.OperationalError:
                # The COMMIT itself failed (a full disk shows up here too): roll back and
                # take the slow path, which makes room and tries again, or raises
                # SpoolFullError.
                journal.abort_pending()
                return journal.write_batch(events, dead, self.decide, self.rule_state)
            return journal.finish_pending()
        finally:
            gate.release()

    async def _isolate(self, events: list[Event], dead: list[DeadLetter]) -> BatchResult:
        total = BatchResult()
        singles: list[tuple[list[Event], list[DeadLetter]]] = [([e], []) for e in events]
        singles += [([], [d]) for d in dead]
        for evs, dls in singles:
            try:
                one = await self._journal(evs, dls)
            except SpoolFullError:
                raise
            except Exception as exc:
                if not evs:
                    raise  # even a dead letter cannot be written: the journal is broken
                ev = evs[0]
                log.error(
                    "journal: event %s of %s failed twice: %s",
                    ev.type,
                    ev.device_id,
                    described(exc),
                )
                one = await self._journal([], [poison_letter(ev, exc)])
            total.written += one.written
            total.duplicates += one.duplicates
            total.dead_letters += one.dead_letters
            for etype, k in one.dropped.items():
                total.dropped[etype] = total.dropped.get(etype, 0) + k
        return total

    async def drained(self) -> None:
        """Wait until everything submitted so far is journaled."""
        while self._items:
            await self.idle.wait()
