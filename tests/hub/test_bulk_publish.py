"""edge/mqttsend.py against a real Mosquitto: bulk QoS 1 publishes framed by hand arrive
whole and in order beside paho's own publishes, each PUBACK answers its packet id once,
and the `resent` prefix replaces the envelope's first byte. Also the outbox's deletion by
seq ranges (edge/store/outbox.py) on a real journal file."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.model import Event
from edge.mqttio import LinkOptions, MqttLink
from edge.mqttsend import remaining_length
from edge.pacing import TokenBucket
from edge.sim.mosquitto import Mosquitto
from edge.store import Journal
from edge.store.outbox import seq_runs
from tests.support.hall import Collector

PREFIX = b'{"resent":true,'


@pytest.mark.parametrize("mqtt5", [True, False])
def test_bulk_publishes_arrive_in_order_beside_paho_ones_and_are_acked_once(
    cloud_broker: Mosquitto, mqtt5: bool
) -> None:
    sub = Collector(cloud_broker.url, ["bulk/#"], client_id=f"bulk-sub-{mqtt5}")
    acks: list[tuple[int, int]] = []
    n = 3000  # spans many of the broker's reads and our writes
    expected = n + n // 500

    async def scenario() -> tuple[list[int], list[int]]:
        all_acked = asyncio.Event()

        def on_publish(mid: int, rc: int) -> None:
            acks.append((mid, rc))
            if len(acks) >= expected:
                all_acked.set()

        opts = LinkOptions(url=cloud_broker.url, client_id=f"bulk-{mqtt5}", mqtt5=mqtt5)
        link = MqttLink(opts, on_publish=on_publish)
        await link.connect()
        bulk_mids: list[int] = []
        paho_mids: list[int] = []
        for k in range(0, n, 500):
            batch = [
                (b"bulk/a" if i % 2 else b"bulk/bb", PREFIX if i % 3 == 0 else b"", _body(i))
                for i in range(k, k + 500)
            ]
            bulk_mids += link.publish_bulk(batch)
            # paho's own publishes share the packet id space and the socket.
            paho_mids.append(link.publish("bulk/paho", f'{{"k":{k}}}'.encode(), 1))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_acked.wait(), 30)
        await link.close()
        return bulk_mids, paho_mids

    try:
        bulk_mids, paho_mids = asyncio.run(scenario())
        sub.wait_for(lambda: len(sub.messages) >= n + len(paho_mids), 30, "every message")
    finally:
        sub.close()
    assert len(set(bulk_mids) | set(paho_mids)) == n + len(paho_mids), "a packet id used twice"
    assert sorted(m for m, _rc in acks) == sorted(bulk_mids + paho_mids), "one PUBACK each"
    assert all(rc == 0 for _m, rc in acks)
    got = [(t, json.loads(p)) for t, p, _ in sub.messages if t != "bulk/paho"]
    assert [body["i"] for _t, body in got] == list(range(n)), "all, once, in order"
    for topic, body in got:
        i = body["i"]
        assert topic == ("bulk/a" if i % 2 else "bulk/bb")
        assert body.get("resent") is (True if i % 3 == 0 else None)
        assert body["pad"] == "x" * (i % 300), "payload whole (lengths across 1-2 byte sizes)"


def _body(i: int) -> bytes:
    return json.dumps({"i": i, "pad": "x" * (i % 300)}).encode()


def test_remaining_length_is_mqtts_variable_integer() -> None:
    # The examples of MQTT 3.1.1 §2.2.3: the bounds of 1, 2, 3 and 4 bytes.
    assert remaining_length(0) == b"\x00"
    assert remaining_length(127) == b"\x7f"
    assert remaining_length(128) == b"\x80\x01"
    assert remaining_length(16_383) == b"\xff\x7f"
    assert remaining_length(16_384) == b"\x80\x80\x01"
    assert remaining_length(268_435_455) == b"\xff\xff\xff\x7f"


def test_seq_runs() -> None:
    assert seq_runs([]) == []
    assert seq_runs([5, 3, 4, 9, 1, 10, 4]) == [(1, 1), (3, 5), (9, 10)]


def test_delivered_deletes_exactly_the_acknowledged_rows_and_keeps_the_totals(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "hall.db", "test-hall", ZoneInfo("Asia/Shanghai"))
    try:
        journal.write_batch(
            [Event("rating.submitted", "pad-1", {"level": 5}, source_id=f"s{i}") for i in range(40)]
        )
        before = journal.outbox.bytes
        acked = [*range(1, 11), 13, 15, *range(20, 31)]  # two runs, two single ones
        journal.delivered(acked)
        left = [r[0] for r in journal.conn.execute("SELECT seq FROM outbox ORDER BY seq")]
        assert left == [s for s in range(1, 41) if s not in acked]
        sizes = journal.conn.execute("SELECT COALESCE(SUM(size),0) FROM outbox").fetchone()[0]
        assert journal.outbox.count == len(left)
        assert journal.outbox.bytes == sizes < before
        journal.delivered([1, 2, 11])  # 1 and 2 are gone already: only 11 counts
        assert journal.outbox.count == len(left) - 1
    finally:
        journal.close()


def test_token_bucket_gives_what_it_has_at_once() -> None:
    bucket = TokenBucket(rate=1e-6, burst=10.0)  # refills nothing within the test
    assert bucket.take_up_to(4) == 4
    assert bucket.take_up_to(100) == 6
    assert bucket.take_up_to(1) == 0
    assert not bucket.take()


def test_a_paho_publish_never_takes_the_id_of_a_bulk_one_in_flight(
    cloud_broker: Mosquitto,
) -> None:
    """After paho's 16-bit counter wraps, its next id may be one of ours still waiting for
    its PUBACK: that PUBACK would then be taken for ours, and an event would leave the
    outbox before the broker had it."""

    async def scenario() -> tuple[list[int], int, int]:
        opts = LinkOptions(url=cloud_broker.url, client_id="bulk-wrap", mqtt5=True)
        link = MqttLink(opts, on_publish=lambda _m, _rc: None)
        await link.connect()
        link.client._last_mid = 65533  # just before the wrap
        bulk = link.publish_bulk([(b"bulk/w", b"", b"{}")] * 4)  # 65534, 65535, 1, 2
        link.client._last_mid = 65533  # as if paho's counter had come round again
        mine = link.publish("bulk/paho", b"{}", 1)
        again = link.publish("bulk/paho", b"{}", 1)
        await link.close()
        return bulk, mine, again

    bulk, mine, again = asyncio.run(scenario())
    assert bulk == [65534, 65535, 1, 2]
    assert (mine, again) == (3, 4)


def test_token_bucket_runs() -> None:
    bucket = TokenBucket(rate=1e-6, burst=40.0)
    assert bucket.take_up_to(100, least=32) == 40
    bucket.tokens = 31.5
    assert bucket.take_up_to(100, least=32) == 0, "fewer than a run: none"
    assert bucket.take_up_to(3, least=32) == 3, "a shorter rest needs only itself"
    assert bucket.wait_s(32) > 1e6  # ~3.3e6 s at this rate: asks for the whole run
