"""The nets behind the limits (docs/contract.md §1, "Limits"): what a bug lets through
costs one message, never the journal, the pipeline or the uplink."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.hub.gate import JournalGate
from edge.hub.pipeline import JournalPipeline
from edge.hub.rules_stage import RulesStage
from edge.model import Event, JournaledEvent
from edge.mqttio import LinkOptions, MqttLink
from edge.rules import Decision, RuleEngine, RuleSet
from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from edge.store import INTERNAL_ERROR, BatchResult, Journal
from tests.support.hall import Collector, write_config

TZ = ZoneInfo("Asia/Shanghai")


def _good(n: int) -> Event:
    return Event("rating.submitted", "pad-1", {"n": n, "level": 5})


def _dead(db: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT device_id, reason, detail FROM dead_letters ORDER BY id")
        return [(str(d), str(r), str(t)) for d, r, t in rows]
    finally:
        conn.close()


def test_an_event_the_journal_cannot_write_is_a_dead_letter_and_the_batch_goes_on(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "hall.db", "test-hall", TZ)
    try:
        result = journal.write_batch(
            [
                _good(1),
                # The envelope's shift into hall time overflows at the end of the calendar
                # (issue #12: it once killed the journal task, at every start again). The
                # decoders refuse such times; past them, the envelope stays in UTC.
                Event("x.y", "pad-1", {}, time=datetime.max.replace(tzinfo=UTC)),
                # Data no JSON encoder takes.
                Event("x.z", "pad-1", {"v": object()}),
                _good(2),
            ]
        )
    finally:
        journal.close()
    assert [w.event.seq for w in result.written] == [1, 2, 3]  # hallseq has no hole
    assert b'"time":"9999-12-31T23:59:59.999+00:00"' in result.written[1].envelope
    assert result.dead_letters == 1
    dead = _dead(tmp_path / "hall.db")
    assert [r for _d, r, _t in dead] == [INTERNAL_ERROR]
    assert "TypeError" in dead[0][2]


class _FailingEngine(RuleEngine):
    """A rules engine with a bug on the event with n == 2; every other event is dropped."""

    def evaluate(self, ev: JournaledEvent) -> Decision:
        if ev.data.get("n") == 2:
            raise ZeroDivisionError("a rule divided by zero")
        return Decision(False, [])


def test_rules_that_raise_on_an_event_leave_it_journaled_and_forwarded(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "hall.db", "test-hall", TZ)
    stage = RulesStage(_FailingEngine(RuleSet(), TZ, {}))
    try:
        batch = journal.stamp([_good(1), _good(2), _good(3)])
        verdict = stage.decide(batch.events)
        result = journal.write_now(batch, verdict.forward)
    finally:
        journal.close()
    assert stage.errors == 1
    # The engine's own verdict (drop) holds where it gave one; the bug forwards.
    assert [w.forwarded for w in result.written] == [False, True, False]
    assert [w.event.seq for w in result.written] == [1, 2, 3]


def test_a_batch_that_fails_is_retried_item_by_item_and_only_the_poison_is_dead(
    tmp_path: Path,
) -> None:
    """A device id SQLite cannot store (a lone surrogate, from a bug upstream) fails the
    whole transaction; alone again, it fails a second time and becomes a dead letter."""
    journal = Journal(tmp_path / "hall.db", "test-hall", TZ)
    gate = JournalGate()
    written: list[BatchResult] = []

    async def scenario() -> None:
        pipeline = JournalPipeline(journal, gate, 500)
        pipeline.on_written.append(lambda c: written.append(c.result))
        task = asyncio.create_task(pipeline.run())
        acks: list[int] = []
        for i, ev in enumerate([_good(1), Event("x.y", "pad-\ud800", {}), _good(2)]):
            pipeline.submit(ev, functools.partial(acks.append, i))
        await asyncio.wait_for(pipeline.drained(), 10)
        await asyncio.sleep(0.1)
        assert not task.done(), "the journal task died"
        task.cancel()
        assert sorted(acks) == [0, 1, 2]  # all acknowledged: nothing comes again

    try:
        asyncio.run(scenario())
    finally:
        gate.shutdown()
        journal.close()
    events = [w.event.data.get("n") for r in written for w in r.written]
    assert events == [1, 2]
    dead = _dead(tmp_path / "hall.db")
    assert len(dead) == 1 and dead[0][1] == INTERNAL_ERROR
    assert dead[0][0] == "pad-?"  # stored, made writable


def test_an_event_the_cloud_broker_refuses_is_parked_and_the_rest_flows(
    tmp_path: Path, hall_broker: Mosquitto
) -> None:
    """An MQTT 5 cloud broker that takes packets of at most 3,000 bytes: one event is
    bigger. It leaves the outbox as a dead letter `unsendable`, `event.parked` tells the
    cloud its hallseq, and the events after it are delivered."""
    cloud_broker = Mosquitto(tmp_path / "cloud-broker", settings=["max_packet_size 3000"])
    cloud_broker.start()
    cfg = write_config(tmp_path / "hall.toml", hall_broker.url, cloud_broker.url)
    cloud = Collector(cloud_broker.url, ["halls/test-hall/events/#"], mqtt5=True)
    hub = HubProcess(cfg)
    hub.start()
    dev = DevicePublisher(hall_broker.url)
    topic = "hall/devices/pad-1/events/fuzz/event"
    try:
        dev.publish(topic, {"n": 1})
        dev.publish(topic, {"n": 2, "pad": "x" * 5000})
        for n in range(3, 13):
            dev.publish(topic, {"n": n})

        def got() -> dict[str, list[dict[str, object]]]:
            out: dict[str, list[dict[str, object]]] = {}
            for env in cloud.envelopes():
                out.setdefault(str(env["type"]), []).append(env)
            return out

        cloud.wait_for(
            lambda: len(got().get("fuzz.event", [])) == 11 and "event.parked" in got(),
            30,
            "the small events and the parked notice",
        )
        envs = got()
        parked = envs["event.parked"][0]["data"]
        assert isinstance(parked, dict)
        big = [e for e in envs["fuzz.event"] if e["data"] == {"n": 2}]
        assert not big
        assert parked["type"] == "fuzz.event" and parked["hallseq"] == 2
        assert "3000" in str(parked["reason"])
        assert sorted(e["hallseq"] for e in envs["fuzz.event"]) == [1, *range(3, 13)]  # type: ignore[type-var]
    finally:
        dev.close()
        cloud.close()
        rc = hub.stop()
        cloud_broker.stop()
    assert rc == 0
    dead = _dead(tmp_path / "hall.db")
    assert [r for _d, r, _t in dead] == ["unsendable"]
    assert dead[0][2].startswith("hallseq 2:")
    conn = sqlite3.connect(tmp_path / "hall.db")
    try:
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    finally:
        conn.close()
    assert "Traceback" not in hub.log_text()


def test_a_handler_that_raises_costs_one_message_not_the_link(hall_broker: Mosquitto) -> None:
    """Left to paho, an exception in the message callback kept the packet and handed it
    over again at every read: one bad message froze the hall link (issue #12)."""
    calls: list[bytes] = []

    def handler(msg: object) -> None:
        payload = bytes(msg.payload)  # type: ignore[attr-defined]
        calls.append(payload)
        if payload == b"bad":
            raise RuntimeError("a bug in a stage")

    async def scenario() -> bool:
        link = MqttLink(LinkOptions(url=hall_broker.url, client_id="guard"), on_message=handler)
        await link.connect()
        link.subscribe([("t/#", 1)])
        await asyncio.sleep(0.2)
        dev = DevicePublisher(hall_broker.url, client_id="guard-dev")
        for body in (b"one", b"bad", b"two"):
            dev.publish("t/x", body)
        for _ in range(100):
            if len(calls) >= 3:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a re-read loop would go on meanwhile
        dev.close()
        alive = link.is_open
        await link.close()
        return alive

    assert asyncio.run(scenario())
    assert calls == [b"one", b"bad", b"two"]
