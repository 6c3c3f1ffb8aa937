"""The packets edge/mqttio.py reads and writes itself, against a real Mosquitto: PUBLISH
parsed from the read buffer (every length class, QoS 0 and 1, a pause in the middle of a
buffer), PUBACKs sent in one write (the broker redelivers exactly the unacknowledged
ones), PUBACKs read without paho (MQTT 3.1.1 and 5), and a batch of QoS 0 copies."""

from __future__ import annotations

import asyncio

import pytest

from edge.mqttio import LinkOptions, MqttLink
from edge.sim.mosquitto import Mosquitto

# Payload sizes around the remaining length's 1/2/3-byte boundaries, and one larger than
# the link's 64 KiB read, so a packet arrives in several reads.
SIZES = [0, 1, 100, 110, 120, 16_000, 16_370, 16_400, 70_000, 200]


def _payload(i: int, size: int) -> bytes:
    return bytes((i * 7 + k) % 251 for k in range(size))


def _opts(url: str, client_id: str, *, mqtt5: bool = False, clean: bool = True) -> LinkOptions:
    return LinkOptions(url=url, client_id=client_id, mqtt5=mqtt5, clean=clean, manual_ack=True)


Got = list[tuple[bytes, bytes, int, int]]


async def _receiver(url: str, got: Got, pause_after: int = 0) -> MqttLink:
    link: MqttLink

    def on_raw(topic: bytes, payload: bytes, qos: int, mid: int) -> None:
        got.append((topic, payload, qos, mid))
        if len(got) == pause_after:
            link.pause_reading()
            asyncio.get_running_loop().call_later(0.2, link.resume_reading)

    link = MqttLink(_opts(url, "receiver", clean=False), on_raw=on_raw)
    await link.connect()
    link.subscribe([("t/#", 1)], grant_within_s=5)
    await asyncio.sleep(0.3)
    return link


async def _publish_all(url: str, messages: list[tuple[str, bytes, int]]) -> None:
    acked: list[int] = []
    pub = MqttLink(_opts(url, "publisher"), on_publish=lambda mid, rc: acked.append(mid))
    await pub.connect()
    for topic, payload, qos in messages:
        pub.publish(topic, payload, qos)
    for _ in range(100):
        if len(acked) == sum(1 for *_x, q in messages if q):
            break
        await asyncio.sleep(0.05)
    await pub.close()


async def _wait_for(got: Got, n: int) -> None:
    for _ in range(200):
        if len(got) >= n:
            return
        await asyncio.sleep(0.05)


def test_publish_packets_parsed_from_the_buffer_and_acked_in_one_write(
    hall_broker: Mosquitto,
) -> None:
    messages = [(f"t/{i}/ü", _payload(i, size), i % 2) for i, size in enumerate(SIZES * 3)]

    async def scenario() -> tuple[Got, Got]:
        got: Got = []
        link = await _receiver(hall_broker.url, got, pause_after=7)
        await _publish_all(hall_broker.url, messages)
        await _wait_for(got, len(messages))
        # Acknowledge every second QoS 1 message only; the rest must come again.
        for n, (_t, _p, qos, mid) in enumerate(got):
            if qos and n % 4 == 1:
                link.ack(mid, qos)
        await asyncio.sleep(0.3)
        await link.close()
        again: Got = []
        link2 = await _receiver(hall_broker.url, again)
        await _wait_for(again, 1)
        await asyncio.sleep(0.5)
        await link2.close()
        return got, again

    got, again = asyncio.run(scenario())
    assert [(t.decode(), p, q) for t, p, q, _m in got] == messages
    assert all((mid != 0) == bool(qos) for _t, _p, qos, mid in got)
    unacked = [(t, p) for n, (t, p, q, _m) in enumerate(got) if q and n % 4 != 1]
    assert [(t, p) for t, p, _q, _m in again] == unacked


@pytest.mark.parametrize("mqtt5", [False, True])
def test_pubacks_read_without_paho(hall_broker: Mosquitto, mqtt5: bool) -> None:
    async def scenario() -> tuple[list[tuple[int, int]], list[int], int]:
        acked: list[tuple[int, int]] = []
        # A subscriber, so an MQTT 5 broker answers "success" (0), not "no subscribers" (16).
        sub = MqttLink(_opts(hall_broker.url, "sub"), on_raw=lambda *a: None)
        await sub.connect()
        sub.subscribe([("p/#", 0)], grant_within_s=5)
        await asyncio.sleep(0.3)
        pub = MqttLink(
            _opts(hall_broker.url, "pub", mqtt5=mqtt5),
            on_publish=lambda mid, rc: acked.append((mid, rc)),
        )
        await pub.connect()
        mids = [pub.publish(f"p/{i}", b"x" * i, 1) for i in range(300)]
        for _ in range(100):
            if len(acked) == len(mids):
                break
            await asyncio.sleep(0.05)
        left = len(pub.client._out_messages) + len(pub._awaiting)
        await pub.close()
        await sub.close()
        return acked, mids, left

    acked, mids, left = asyncio.run(scenario())
    assert sorted(acked) == sorted((m, 0) for m in mids)
    assert left == 0  # the books are kept: nothing waits for a PUBACK any more


def test_qos1_publish_built_by_the_link_keeps_retain_and_refuses_what_paho_refused(
    hall_broker: Mosquitto,
) -> None:
    async def scenario() -> Got:
        pub = MqttLink(_opts(hall_broker.url, "retainer", mqtt5=True))
        await pub.connect()
        pub.publish("r/state", b'{"state":"online"}', 1, True)
        pub.publish("r/plain", b"not kept", 1, False)
        for bad in ("", "r/+", "r/#"):
            with pytest.raises(ValueError):
                pub.publish(bad, b"x", 1)
        await asyncio.sleep(0.3)
        await pub.close()
        got: Got = []
        sub = MqttLink(
            _opts(hall_broker.url, "late"),
            on_raw=lambda *m: got.append(m),
        )
        await sub.connect()
        sub.subscribe([("r/#", 1)], grant_within_s=5)
        await _wait_for(got, 1)
        await asyncio.sleep(0.3)
        await sub.close()
        return got

    got = asyncio.run(scenario())
    assert [(t, p, q) for t, p, q, _m in got] == [(b"r/state", b'{"state":"online"}', 1)]


def test_qos0_copies_in_one_write(hall_broker: Mosquitto) -> None:
    copies = [(f"c/{i}", _payload(i, size)) for i, size in enumerate([0, 5, 300, 20_000])]

    async def scenario() -> Got:
        got: Got = []

        def on_raw(topic: bytes, payload: bytes, qos: int, mid: int) -> None:
            got.append((topic, payload, qos, mid))

        sub = MqttLink(_opts(hall_broker.url, "sub"), on_raw=on_raw)
        await sub.connect()
        sub.subscribe([("c/#", 0)], grant_within_s=5)
        pub = MqttLink(_opts(hall_broker.url, "copies"))
        await pub.connect()
        await asyncio.sleep(0.3)
        pub.publish_qos0(copies)
        await _wait_for(got, len(copies))
        await pub.close()
        await sub.close()
        return got

    got = asyncio.run(scenario())
    assert [(t.decode(), p, q, m) for t, p, q, m in got] == [(t, p, 0, 0) for t, p in copies]


def test_raw_reading_is_for_mqtt_311_links_only() -> None:
    async def scenario() -> None:
        MqttLink(_opts("mqtt://127.0.0.1:9", "x", mqtt5=True), on_raw=lambda *a: None)

    with pytest.raises(ValueError, match=r"3\.1\.1"):
        asyncio.run(scenario())
