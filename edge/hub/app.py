"""The running hub: supervises the stages' tasks, ticks the services, reports metrics and
stops in order. What it runs is built by edge/hub/build.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from edge.errors import EdgeError, StoreError
from edge.hub import systemd
from edge.hub.alerts import Alerts
from edge.hub.commands import CommandRouter
from edge.hub.gate import JournalGate
from edge.hub.hall_link import HUB_STATE_TOPIC
from edge.hub.health import liveness
from edge.hub.mqtt_intake import MqttIntake
from edge.hub.part import Core, Task
from edge.store import Journal

log = logging.getLogger(__name__)

_json = msgspec.json.Encoder()


class Hub:
    """One hall's hub. `await build_hub(cfg)` makes one; `run()` serves until `stop()` or
    a fatal error."""

    def __init__(
        self,
        core: Core,
        *,
        gate: JournalGate,
        journal: Journal,
        router: CommandRouter,
        alerts: Alerts,
        mqtt: MqttIntake,
        tasks: Sequence[Task],
        on_stop: Sequence[Task],
        exposes: dict[str, Any] | None = None,
    ) -> None:
        self.core = core
        self.cfg = core.cfg
        self.gate, self.journal, self.reader = gate, journal, core.reader
        self.pipeline, self.hall, self.uplink = core.pipeline, core.hall, core.uplink
        self.devices, self.fanout = core.devices, core.fanout
        self.router, self.alerts, self.mqtt = router, alerts, mqtt
        self.background = list(tasks)
        self.on_stop = list(on_stop)
        self.exposes = exposes or {}  # what the parts show the console ("queue", "kpi")
        self.http_address: tuple[str, int] | None = None  # set once the web part listens
        self.started = time.monotonic()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = asyncio.Event()
        self.heartbeat = time.monotonic()  # the ticker's last turn (edge/hub/health.py)

    # -- metrics ---------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        u = self.uplink.stats
        return {
            "uptime_s": round(time.monotonic() - self.started, 1),
            "journaled": self.pipeline.journaled,
            "batches": self.pipeline.batches,
            "pending": self.pipeline.pending,
            "duplicates": self.pipeline.duplicates,
            "dead_letters": self.pipeline.dead_letters,
            "disk_full": self.pipeline.disk_full,
            "last_seq": self.journal.last_seq,
            "backlog": self.journal.spool_count,
            "backlog_bytes": self.journal.spool_bytes,
            "cloud": {
                "connected": u.connected,
                "connects": u.connects,
                "sent": u.sent,
                "acked": u.acked,
                "resent": u.resent,
                "stalls": u.stalls,
                "parked": u.parked,
                "in_flight": u.in_flight,
                "rate": round(u.rate, 1),
                "last_error": u.last_error,
            },
            "hall": {
                "connected": self.hall.connected.is_set(),
                "received": self.hall.received,
                "read_pauses": self.hall.pauses,
                "outcomes": dict(sorted(self.mqtt.outcomes.items())),
            },
            "alerts": self.alerts.raised,
            "service_errors": self.fanout.service_errors,
            "rule_errors": self.pipeline.rules.errors,
            "replies": {str(k): v for k, v in sorted(self.router.counts.items())},
            "internal_replies": {str(k): v for k, v in sorted(self.router.internal_counts.items())},
        }

    def task(self, name: str) -> asyncio.Task[None] | None:
        """The running task of that name (journal, hall, cloud, ticker, ...)."""
        return next((t for t in self._tasks if t.get_name() == name), None)

    # -- life cycle --------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Serve until stop(); raises EdgeError on a fatal fault (journal unwritable)."""
        fatal: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()
        self.heartbeat = time.monotonic()
        self._tasks = [
            self._supervise("journal", self.pipeline.run, fatal, restart=False),
            self._supervise("hall", self.hall.run, fatal),
            self._supervise("cloud", self.uplink.run, fatal),
            self._supervise("ticker", self._ticker, fatal),
            self._supervise("health", self._health, fatal),
            *(self._supervise(getattr(f, "__name__", "task"), f, fatal) for f in self.background),
        ]
        self.ready.set()
        systemd.notify("READY=1")
        log.info(
            "hub %s ready: %d devices, journal %s",
            self.cfg.hall.id,
            len(self.cfg.devices),
            self.journal.path,
        )
        stop_wait: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait([stop_wait, fatal], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
            await self._shutdown()
        if fatal.done():
            raise EdgeError(f"stopped by a fatal fault: {fatal.result()}")

    def _supervise(
        self,
        name: str,
        fn: Callable[[], Awaitable[None]],
        fatal: asyncio.Future[BaseException],
        restart: bool = True,
    ) -> asyncio.Task[None]:
        async def guard() -> None:
            while True:
                try:
                    await fn()
                    return
                except asyncio.CancelledError:
                    raise
                except StoreError as exc:
                    log.critical("%s: %s", name, exc)
                    if not fatal.done():
                        fatal.set_result(exc)
                    return
                except Exception as exc:
                    if not restart:
                        log.critical("%s failed", name, exc_info=True)
                        if not fatal.done():
                            fatal.set_result(exc)
                        return
                    log.exception("%s failed; restarting it in 1 s", name)
                    await asyncio.sleep(1.0)

        return asyncio.create_task(guard(), name=name)

    async def _shutdown(self) -> None:
        systemd.notify("STOPPING=1")
        # Tickers first: a service's tick may hand work to an executor that its on_stop
        # hook shuts down (the KPI thread), so no tick may run once the hooks start.
        tickers = [t for t in self._tasks if t.get_name() in ("ticker", "health")]
        for t in tickers:
            t.cancel()
        await asyncio.gather(*tickers, return_exceptions=True)
        self.alerts.report_drops(force=True)
        for hook in self.on_stop:
            with contextlib.suppress(Exception):
                await hook()
        # Give what is already in memory a moment to reach the journal; the brokers keep
        # anything not yet acknowledged, so nothing is lost if this is cut short.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.pipeline.drained(), 5.0)
        with contextlib.suppress(Exception):
            await self.pipeline.save_rule_state()
        with contextlib.suppress(Exception):
            await self.uplink.close()
        await self._close_hall_link()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.close()
        # The last word on what this run did: an operator (and the fuzz test) reads here
        # what became of every message, without a broker to ask.
        log.info("hub stopped: %s", _json.encode(self.metrics()).decode())

    async def _close_hall_link(self) -> None:
        self.hall.closing = True
        link = self.hall.link
        if link is not None:
            self.hall.publish(HUB_STATE_TOPIC, self.hall.state_payload("offline"), 1, True)
            await asyncio.sleep(0.05)
            await link.close()

    def close(self) -> None:
        """Close the journal and its threads (also for a hub built but never run)."""
        self.gate.submit(self.journal.close).result()
        self.gate.shutdown(wait=True)
        self.reader.close()
        self.uplink.reader_executor.shutdown(wait=False)

    async def _ticker(self) -> None:
        last_expiry = last_prune = time.monotonic()
        loop = asyncio.get_running_loop()
        store = self.cfg.store
        while True:
            await asyncio.sleep(1.0)
            self.heartbeat = time.monotonic()
            self.fanout.tick(self.core.clock())
            self.alerts.report_drops()
            mono = time.monotonic()
            if mono - last_expiry >= 60:
                last_expiry = mono
                dropped = await loop.run_in_executor(
                    self.gate, self.journal.expire_status, store.spool_max_age_days * 86400
                )
                self.alerts.expired(dropped)
            if mono - last_prune >= 3600:
                last_prune = mono
                await loop.run_in_executor(
                    self.gate,
                    self.journal.prune,
                    store.journal_days,
                    7.0,
                    self.cfg.commands.remember_days,
                )

    async def _health(self) -> None:
        interval = systemd.watchdog_interval_s()
        period = min(5.0, interval) if interval else 5.0
        while True:
            # The same judgement as /healthz: a hub that is not alive stops feeding the
            # watchdog, and systemd restarts it.
            if liveness(self)[0]:
                systemd.notify("WATCHDOG=1")
            self.hall.publish("hall/hub/metrics", _json.encode(self.metrics()), 0, True)
            await asyncio.sleep(period)
