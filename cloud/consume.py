"""`hall-cloud consume`: the MQTT source in front of the PostgreSQL sink, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from urllib.parse import urlsplit

from cloud import amqp_source, mqtt_source
from cloud.settings import ConsumerSettings
from cloud.sink import PostgresSink

log = logging.getLogger(__name__)


async def _report(sink: PostgresSink, every_s: float) -> None:
    last = -1
    while True:
        await asyncio.sleep(every_s)
        s = sink.stats
        if s.messages != last:
            last = s.messages
            log.info(
                "consumer: %d messages in %d batches, %d new events, %d duplicates,"
                " %d dead letters, %d retries",
                s.messages,
                s.batches,
                s.events_new,
                s.duplicates,
                s.dead_letters,
                s.retries,
            )


async def consume(settings: ConsumerSettings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    sink = PostgresSink(settings.db, max_bytes=settings.max_bytes, halls=settings.halls)
    await sink.connect()
    reporter = asyncio.create_task(_report(sink, 5.0))
    try:
        amqp = urlsplit(settings.broker).scheme in ("amqp", "amqps")
        source = amqp_source if amqp else mqtt_source
        await source.run(settings, sink, stop)
    finally:
        reporter.cancel()
        await sink.close()
        log.info("consumer: stopped after %d messages", sink.stats.messages)
