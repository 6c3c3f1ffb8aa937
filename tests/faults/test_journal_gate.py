"""Faults inside the hub, pinned down: the journal gate under cancellation and interleaving.

The end-to-end fault tests found them (a hub that died on a cloud outage, acknowledged
events left in the outbox and sent again); these reproduce each one in-process in
milliseconds, with the hub's own JournalGate, Journal, JournalPipeline step and Uplink ack
flush, in the order the event loop runs them in the hub. The first two failed on 909a2fa
and pass since d5c0982.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.config.hub import CloudSection
from edge.hub.gate import JournalGate
from edge.hub.pipeline import JournalPipeline
from edge.model import Event
from edge.store import Journal, JournalReader
from edge.uplink import Uplink

pytestmark = pytest.mark.faults

TZ = ZoneInfo("Asia/Shanghai")


def _event(i: int) -> Event:
    return Event("rating.submitted", "pad-1", {"level": 5, "n": i}, source_id=f"r{i}")


def _outbox(db: Path) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [int(s) for (s,) in conn.execute("SELECT seq FROM outbox ORDER BY seq")]
    finally:
        conn.close()


def test_a_cancelled_journal_call_queued_behind_a_commit_does_not_kill_the_journal(
    tmp_path: Path,
) -> None:
    """The uplink's ack flusher is cancelled when the cloud connection drops; if its
    `delivered` call was queued behind a commit at that moment, the gate later tries to set
    the result of a cancelled future (InvalidStateError) inside JournalGate.commit: the
    pipeline's commit raises, the journal task ends, the hub stops ("journal failed"), and
    the calls queued after it never run."""
    journal = Journal(tmp_path / "hall.db", "test-hall", TZ)
    gate = JournalGate()

    async def scenario() -> list[int]:
        loop = asyncio.get_running_loop()
        journal.write_batch([_event(1)])  # seq 1 committed, in the outbox
        stamped = journal.stamp([_event(2)])
        gate.hold()
        # The batch's rows are written and its COMMIT is on the thread: the gate is busy.
        commit = asyncio.ensure_future(journal.write(stamped, commit_on=gate.on_thread))
        await asyncio.sleep(0)
        flush = asyncio.ensure_future(loop.run_in_executor(gate, journal.delivered, [1]))
        later = asyncio.ensure_future(loop.run_in_executor(gate, journal.delivered, [2]))
        await asyncio.sleep(0)
        flush.cancel()  # the cloud connection dropped: _serve cancels the ack flusher
        await commit  # must not raise
        gate.release()
        await asyncio.wait_for(later, 5)  # the calls queued after it still run
        return _outbox(tmp_path / "hall.db")

    try:
        left = asyncio.run(scenario())
    finally:
        gate.shutdown()
        journal.close()
    assert 2 not in left


def test_a_journal_call_between_write_and_commit_neither_fails_nor_undoes_the_batch(
    tmp_path: Path,
) -> None:
    """JournalPipeline._journal writes a batch with the transaction left open, then awaits
    its COMMIT on the gate's thread; in an earlier shape the gate was marked busy only after
    that await began, and a journal call another task makes in that
    moment (the uplink's `delivered`) runs inline inside the open transaction: its BEGIN
    IMMEDIATE fails and its ROLLBACK undoes the batch. The ack flusher task dies on that
    error, so acknowledged events stay in the outbox (resent after every restart)."""
    journal = Journal(tmp_path / "hall.db", "test-hall", TZ)
    journal.write_batch([_event(1)])  # seq 1, acknowledged by the cloud below
    gate = JournalGate()
    pipeline = JournalPipeline(journal, gate, 500)

    async def scenario() -> tuple[BaseException | None, list[int]]:
        loop = asyncio.get_running_loop()
        step = asyncio.ensure_future(pipeline._journal([_event(2)], []))
        await asyncio.sleep(0)  # the pipeline task runs up to its first await
        flush = loop.run_in_executor(gate, journal.delivered, [1])  # the ack flusher
        error: BaseException | None = None
        try:
            await asyncio.wait_for(flush, 5)
        except Exception as exc:
            error = exc
        await asyncio.wait_for(step, 5)
        return error, _outbox(tmp_path / "hall.db")

    try:
        error, left = asyncio.run(scenario())
    finally:
        gate.shutdown()
        journal.close()
    assert error is None, f"delivered() failed: {error!r}"
    assert left == [2], "seq 1 acknowledged and gone, seq 2 journaled and waiting"


def test_an_ack_flush_cancelled_in_the_gate_queue_keeps_its_acknowledgements(
    tmp_path: Path,
) -> None:
    """When the cloud link drops, `Uplink._serve` cancels its ack flusher. If the flusher's
    `delivered` call was waiting in the gate (behind a batch) at that moment, the gate skips
    it, and the acknowledged sequence numbers it had taken out of `Uplink._acked` are gone:
    those events stay in the outbox and are sent again after the reconnect. Seen end to end
    in test_cloud_outage: every event delivered live before the outage came twice."""
    journal = Journal(tmp_path / "hall.db", "test-hall", TZ)
    journal.write_batch([_event(1), _event(2)])
    gate = JournalGate()
    reader = JournalReader(tmp_path / "hall.db")

    async def no_command(*_a: object) -> None:
        return None

    async def scenario() -> list[int]:
        uplink = Uplink(
            CloudSection(url="mqtt://127.0.0.1:9"),
            "test-hall",
            "t",
            journal,
            gate,
            reader,
            device_states=dict,
        )
        uplink._acked = [1, 2]  # the broker acknowledged both
        gate.hold()  # a batch is being journaled
        flush = asyncio.ensure_future(uplink._flush_acked())
        await asyncio.sleep(0)  # the flush waits in the gate
        flush.cancel()  # the cloud link dropped
        await asyncio.gather(flush, return_exceptions=True)
        gate.release()
        await uplink._flush_acked()  # what Uplink.run does after the connection is gone
        uplink.reader_executor.shutdown(wait=False)
        return _outbox(tmp_path / "hall.db")

    try:
        left = asyncio.run(scenario())
    finally:
        gate.shutdown()
        reader.close()
        journal.close()
    assert left == [], f"acknowledged events {left} are still in the outbox"
