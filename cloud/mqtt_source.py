"""The MQTT source: persistent QoS 1 subscriptions whose PUBACKs wait for the sink.

aiomqtt 2.5 has no manual acknowledgements yet (its issue #345); paho-mqtt under it has
(`manual_ack_set`, `ack`). `_manual_acks` and `_ack` are the only two places that reach
into aiomqtt's paho client for that, so they are the only lines to change when aiomqtt
grows its own API. Without manual acks paho would PUBACK each message on arrival, and a
consumer killed before its commit would lose what it held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cloud.settings import ConsumerSettings
from cloud.sink import Message, Sink

log = logging.getLogger(__name__)

# Shared between consumers (each event stored by one of them).
SHARED_TOPICS = ("halls/+/events/#", "halls/+/replies/+")
# Subscribed by every consumer without $share: MQTT 5 sends no retained messages to shared
# subscriptions, and the retained states are what a consumer that starts needs; storing a
# state twice is harmless (an upsert).
STATE_TOPICS = ("halls/+/state", "halls/+/devices/+/state")


def subscriptions(settings: ConsumerSettings) -> list[str]:
    group = settings.shared_group
    shared = [f"$share/{group}/{t}" if group else t for t in SHARED_TOPICS]
    return [*shared, *STATE_TOPICS]


def _client(settings: ConsumerSettings) -> aiomqtt.Client:
    url = urlsplit(settings.broker)
    tls = url.scheme == "mqtts"
    v5 = settings.protocol == "5"
    props = None
    if v5:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = settings.session_expiry_s
        # How many unacknowledged messages the broker may send us: one batch's worth.
        props.ReceiveMaximum = min(settings.batch_max, 65535)
    client = aiomqtt.Client(
        url.hostname or "127.0.0.1",
        url.port or (8883 if tls else 1883),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        identifier=settings.client_id,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if v5 else False,
        # MQTT 5: resume the session on every connect, the first one too (paho refuses
        # the option under 3.1.1, where clean_session=False says the same).
        clean_start=False if v5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
        properties=props,
        keepalive=30,
        timeout=10,
        tls_context=ssl.create_default_context() if tls else None,
    )
    _manual_acks(client)
    return client


def _manual_acks(client: aiomqtt.Client) -> None:
    client._client.manual_ack_set(True)  # see the module's docstring


def _ack(client: aiomqtt.Client, batch: Sequence[aiomqtt.Message]) -> None:
    for m in batch:
        if m.qos > 0:
            client._client.ack(m.mid, m.qos)  # see the module's docstring


class _Disconnected:
    """Put on the local queue when the broker connection ends."""

    def __init__(self, error: aiomqtt.MqttError) -> None:
        self.error = error


_Item = aiomqtt.Message | _Disconnected


async def _read(client: aiomqtt.Client, queue: asyncio.Queue[_Item]) -> None:
    # The only reader of aiomqtt's iterator, never cancelled while a message is in hand:
    # cancelling its __anext__ can drop a message it already took off its queue.
    try:
        async for m in client.messages:
            queue.put_nowait(m)
    except aiomqtt.MqttError as exc:
        queue.put_nowait(_Disconnected(exc))


async def _next_batch(queue: asyncio.Queue[_Item], batch_max: int, linger_s: float) -> list[_Item]:
    batch = [await queue.get()]
    loop = asyncio.get_running_loop()
    until = loop.time() + linger_s
    while len(batch) < batch_max and not isinstance(batch[-1], _Disconnected):
        if not queue.empty():
            batch.append(queue.get_nowait())
            continue
        left = until - loop.time()
        if left <= 0:
            break
        try:
            batch.append(await asyncio.wait_for(queue.get(), left))  # safe to cancel
        except TimeoutError:
            break
    return batch


async def run(settings: ConsumerSettings, sink: Sink, stop: asyncio.Event) -> None:
    """Consume until `stop` is set; reconnects with backoff, never acks before the sink."""
    delay = 0.2
    while not stop.is_set():
        try:
            async with _client(settings) as client:
                for topic in subscriptions(settings):
                    await client.subscribe(topic, qos=1)
                log.info("broker: connected to %s as %s", settings.broker, settings.client_id)
                delay = 0.2
                await _pump(client, settings, sink, stop)
        except aiomqtt.MqttError as exc:
            if stop.is_set():
                break
            log.warning("broker: %s; reconnecting in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _pump(
    client: aiomqtt.Client, settings: ConsumerSettings, sink: Sink, stop: asyncio.Event
) -> None:
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    reader = asyncio.create_task(_read(client, queue))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            getting = asyncio.ensure_future(
                _next_batch(queue, settings.batch_max, settings.linger_ms / 1000)
            )
            done, _ = await asyncio.wait({getting, stopping}, return_when="FIRST_COMPLETED")
            if getting not in done:
                getting.cancel()
                return  # unacked messages stay with the broker for the next run
            items = getting.result()
            batch = [m for m in items if isinstance(m, aiomqtt.Message)]
            if batch:
                payloads: list[Message] = [(m.topic.value, bytes(m.payload)) for m in batch]
                # A stop while the sink holds a batch (the database away) abandons it,
                # unacknowledged: the broker gives it to the next run.
                writing = asyncio.ensure_future(sink.write(payloads))
                await asyncio.wait({writing, stopping}, return_when="FIRST_COMPLETED")
                if not writing.done():
                    writing.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await writing
                    log.info("stopping with %d messages unacknowledged", len(batch))
                    return
                writing.result()
                _ack(client, batch)
                log.debug("batch of %d written and acked; %d waiting", len(batch), queue.qsize())
            if isinstance(items[-1], _Disconnected):
                raise items[-1].error
    finally:
        stopping.cancel()
        reader.cancel()
