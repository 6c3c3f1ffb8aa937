"""Group commit: everything the hub learns is journaled in batches, then acknowledged.

One batch goes through three steps, in this order and in this one place:
  1. `Journal.stamp`: hallseq numbers and envelopes, repeats and poison taken out;
  2. `Decider.decide` (the rules, edge/hub/rules_stage.py): forward or drop, outputs;
  3. `Journal.write`: events, outbox rows, dead letters and rule state in one transaction,
     its COMMIT (and fsync) on the journal gate's thread while the loop goes on.
Then the batch's messages are acknowledged and `on_written` hears of it (the fan-out to
the uplink, the hall broker and the services: edge/hub/fanout.py).

Items wait in memory only while the previous batch is being committed, so a burst turns
into large batches by itself (no timer adds latency at low rates).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.errors import SpoolFullError, described
from edge.hub.gate import JournalGate
from edge.hub.lanes import Lanes
from edge.hub.rules_stage import Decider, ForwardAll, Verdict
from edge.model import Event, Output
from edge.store import BatchResult, DeadLetter, Journal, StampedBatch, poison_letter

log = logging.getLogger(__name__)

Ack = Callable[[], None]


@dataclass(slots=True)
class _Item:
    event: Event | None
    dead: DeadLetter | None
    ack: Ack | None


@dataclass(slots=True)
class Committed:
    """A batch that is on disk: what was written, and what the rules derived from it."""

    result: BatchResult
    outputs: list[Output] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)  # the batch's dead letters
    commit_s: float = 0.0  # from the first write to the COMMIT returned


class JournalPipeline:
    """Queue of events and dead letters on their way into the journal."""

    def __init__(
        self,
        journal: Journal,
        gate: JournalGate,
        max_rows: int,
        rules: Decider | None = None,
        linger_s: float = 0.0,
    ) -> None:
        self.journal = journal
        self.gate = gate
        self.max_rows = max_rows
        self.rules: Decider = rules or ForwardAll()
        self.on_written: list[Callable[[Committed], None]] = []
        # A device may have a quarter of a batch waiting before its next ones queue behind
        # everyone else's (edge/hub/lanes.py).
        self._items: Lanes[_Item] = Lanes(max(1, max_rows // 4))
        self._wake = asyncio.Event()
        self.disk_full = False
        self.batches = 0
        self.journaled = 0
        self.duplicates = 0
        self.dead_letters = 0
        self.dead_by_reason: dict[str, int] = {}
        self.idle = asyncio.Event()
        self.idle.set()
        # Back-pressure: above the high mark the hall link stops reading (the broker keeps
        # the messages, on disk if it must); below the low mark it reads again.
        self.linger_s = linger_s
        self.high_water = 4 * max_rows
        self.low_water = max_rows
        self.on_low_water: list[Callable[[], None]] = []
        # A batch the disk had no room for, kept with the rules' verdict and state: the rules
        # have seen these events once and must not see them again on the retry.
        self._held: tuple[StampedBatch, Verdict, bytes | None] | None = None
        self._retry: list[_Item] | None = None

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

    def is_full(self) -> bool:
        """Past the high-water mark: the hall link stops reading until `on_low_water`."""
        return len(self._items) >= self.high_water

    async def run(self) -> None:
        self.gate.submit(self.journal.start_checkpoints).result()
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
            # After a full disk the same batch is tried again, not a new one: its events
            # have their numbers and the rules' verdict already.
            batch = self._retry or self._items.take(self.max_rows)
            try:
                committed = await self._journal_batch(batch)
            except SpoolFullError as exc:
                # Nothing of the batch is committed, so nothing is acknowledged: the brokers
                # and serial devices keep it until there is room again.
                if not self.disk_full:
                    log.error("journal full, holding acknowledgements: %s", exc)
                self.disk_full = True
                self._retry = batch
                await asyncio.sleep(1.0)
                continue
            self._retry = None
            self.disk_full = False
            self._items.drop()
            self._acknowledge(batch)
            result = committed.result
            self.batches += 1
            self.journaled += len(result.written)
            self.duplicates += result.duplicates
            self.dead_letters += result.dead_letters
            for d in committed.dead:
                self.dead_by_reason[d.reason] = self.dead_by_reason.get(d.reason, 0) + 1
            for listener in self.on_written:
                listener(committed)
            if len(self._items) <= self.low_water:
                for resume in self.on_low_water:
                    resume()

    async def _journal_batch(self, batch: list[_Item]) -> Committed:
        events = [it.event for it in batch if it.event is not None]
        dead = [it.dead for it in batch if it.dead is not None]
        try:
            committed = await self._journal(events, dead)
            committed.dead = dead
            return committed
        except SpoolFullError:
            raise
        except Exception as exc:
            # Something in this batch broke the transaction. Each item is tried alone: what
            # fails a second time is a dead letter, and the rest is journaled. A journal
            # that cannot take even a dead letter is broken, and that one is fatal.
            # The rules have seen the batch once: the singles go to the cloud as they are.
            log.error("journal: batch of %d failed (%s); isolating", len(batch), described(exc))
            self._held = None
            return await self._isolate(events, dead)

    async def _journal(self, events: list[Event], dead: list[DeadLetter]) -> Committed:
        # The gate is held from the first read to the end of the COMMIT: no other journal
        # call may run inside this batch (they queue in the gate and run after it).
        self.gate.hold()
        try:
            if self._held is None:
                stamped = self.journal.stamp(events)
                verdict = self.rules.decide(stamped.events)
                # Taken with the verdict: the engine counts a dumped state as saved, so a
                # retry must write this blob, not ask for another.
                self._held = (stamped, verdict, self.rules.state_to_save())
            stamped, verdict, state = self._held
            began = time.perf_counter()
            result = await self.journal.write(
                stamped, verdict.forward, dead, state, commit_on=self.gate.on_thread
            )
            self._held = None
            return Committed(result, verdict.outputs, commit_s=time.perf_counter() - began)
        finally:
            self.gate.release()

    async def _isolate(self, events: list[Event], dead: list[DeadLetter]) -> Committed:
        total = Committed(BatchResult())
        singles: list[tuple[list[Event], list[DeadLetter]]] = [([e], []) for e in events]
        singles += [([], [d]) for d in dead]
        for evs, dls in singles:
            try:
                one = await self._journal(evs, dls)
            except SpoolFullError:
                raise
            except Exception as exc:
                self._held = None
                if not evs:
                    raise  # even a dead letter cannot be written: the journal is broken
                ev = evs[0]
                log.error(
                    "journal: event %s of %s failed twice: %s",
                    ev.type,
                    ev.device_id,
                    described(exc),
                )
                poison = poison_letter(ev, exc)
                one = await self._journal([], [poison])
                one.dead = [poison]
            else:
                one.dead = dls
            _add(total, one)
        return total

    def _acknowledge(self, batch: list[_Item]) -> None:
        for it in batch:
            if it.ack is not None:
                try:
                    it.ack()
                except Exception:
                    log.exception("acknowledging a journaled message failed")

    async def save_rule_state(self) -> None:
        """At shutdown: the rule state once more (the per-batch save is rate-limited).

        Through the gate like any other journal call: queued behind a batch in flight,
        never inside its transaction (holding the gate a second time would let the first
        release run queued calls inside the other's open transaction)."""
        blob = self.rules.state_to_save(final=True)
        if blob is None:
            return
        empty = StampedBatch(received_ms=0)
        await asyncio.wrap_future(self.gate.submit(self.journal.write_now, empty, None, (), blob))

    async def drained(self) -> None:
        """Wait until everything submitted so far is journaled."""
        while self._items:
            await self.idle.wait()


def _add(total: Committed, one: Committed) -> None:
    t, r = total.result, one.result
    t.written += r.written
    t.duplicates += r.duplicates
    t.dead_letters += r.dead_letters
    for etype, k in r.dropped.items():
        t.dropped[etype] = t.dropped.get(etype, 0) + k
    total.outputs += one.outputs
    total.dead += one.dead
    total.commit_s += one.commit_s
