"""The AMQP source: competing consumers on one quorum queue bound to the MQTT exchange.

RabbitMQ 3.10's MQTT plugin speaks MQTT 3.1.1 only: no shared subscriptions, so several
MQTT consumers would each get every message. Over AMQP, all consumers read one durable
quorum queue (`hall-cloud` by default) bound to `amq.topic`, where the MQTT plugin routes
the hubs' publishes (MQTT topic `halls/x/events/y` is routing key `halls.x.events.y`):
each message goes to one consumer, the queue has a member on every node and survives the
loss of one. A message is acknowledged only after the sink committed it (one `multiple`
ack per batch); a consumer that dies leaves its unacknowledged messages to the others.

`broker` may list several nodes, comma-separated (`amqp://n1:5672/,amqp://n2:5672/`):
a lost connection is retried on the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import aio_pika
import aio_pika.abc
import aiormq

from cloud.settings import ConsumerSettings
from cloud.sink import Message, Sink

log = logging.getLogger(__name__)

EXCHANGE = "amq.topic"
# Every topic the consumer stores, as routing keys of the MQTT exchange.
ROUTING_KEYS = ("halls.*.events.#", "halls.*.replies.*", "halls.*.state", "halls.*.devices.*.state")

_ERRORS: tuple[type[BaseException], ...] = (
    aiormq.exceptions.AMQPError,
    aio_pika.exceptions.AMQPException,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)


def broker_urls(broker: str) -> list[str]:
    return [u.strip() for u in broker.split(",") if u.strip()]


def queue_name(settings: ConsumerSettings) -> str:
    return settings.shared_group or settings.client_id


def topic_of(routing_key: str) -> str:
    """The MQTT topic of a routing key (the plugin swaps '/' and '.')."""
    return routing_key.translate(str.maketrans("./", "/."))


async def declare(channel: aio_pika.abc.AbstractChannel, name: str) -> aio_pika.abc.AbstractQueue:
    """The shared quorum queue and its bindings (idempotent: every consumer declares it)."""
    queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    for key in ROUTING_KEYS:
        await queue.bind(EXCHANGE, routing_key=key)
    return queue


async def run(settings: ConsumerSettings, sink: Sink, stop: asyncio.Event) -> None:
    """Consume until `stop` is set; on a lost connection, the next node of `broker`."""
    urls = broker_urls(settings.broker)
    attempt = 0
    delay = 0.2
    while not stop.is_set():
        url = urls[attempt % len(urls)]
        attempt += 1
        try:
            connection = await asyncio.wait_for(aio_pika.connect(url), 10)
        except _ERRORS as exc:
            log.warning("broker: %s: %s; next in %.1f s", url, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        try:
            async with connection:
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=min(settings.batch_max * 2, 65535))
                queue = await declare(channel, queue_name(settings))
                log.info("broker: connected to %s, consuming queue %s", url, queue.name)
                delay = 0.2
                await _pump(connection, queue, settings, sink, stop)
        except _ERRORS as exc:
            if stop.is_set():
                break
            log.warning("broker: %s: %s; reconnecting", url, exc)
            await asyncio.sleep(delay)


async def _pump(
    connection: aio_pika.abc.AbstractConnection,
    queue: aio_pika.abc.AbstractQueue,
    settings: ConsumerSettings,
    sink: Sink,
    stop: asyncio.Event,
) -> None:
    inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
    lost = asyncio.Event()
    connection.close_callbacks.add(lambda *_: lost.set())
    tag = await queue.consume(inbox.put)
    linger = settings.linger_ms / 1000
    stopping = asyncio.ensure_future(stop.wait())
    losing = asyncio.ensure_future(lost.wait())
    try:
        while not stop.is_set():
            getting = asyncio.ensure_future(_next_batch(inbox, settings.batch_max, linger))
            done, _ = await asyncio.wait({getting, stopping, losing}, return_when="FIRST_COMPLETED")
            if getting not in done:
                getting.cancel()
                if lost.is_set():
                    raise ConnectionError("connection closed")
                return  # unacknowledged messages go back to the queue
            batch = getting.result()
            payloads: list[Message] = [(topic_of(m.routing_key or ""), m.body) for m in batch]
            await sink.write(payloads)
            # One ack for the whole batch: deliveries on a channel are in tag order.
            await batch[-1].ack(multiple=True)
    finally:
        stopping.cancel()
        losing.cancel()
        if not lost.is_set():
            with contextlib.suppress(*_ERRORS):
                await queue.cancel(tag)


async def _next_batch(
    inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage], batch_max: int, linger_s: float
) -> Sequence[aio_pika.abc.AbstractIncomingMessage]:
    batch = [await inbox.get()]
    loop = asyncio.get_running_loop()
    until = loop.time() + linger_s
    while len(batch) < batch_max:
        if not inbox.empty():
            batch.append(inbox.get_nowait())
            continue
        left = until - loop.time()
        if left <= 0:
            break
        try:
            batch.append(await asyncio.wait_for(inbox.get(), left))
        except TimeoutError:
            break
    return batch
