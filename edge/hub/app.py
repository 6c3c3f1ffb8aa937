"""The composition root: builds every part from the config, supervises every task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from edge import __version__
from edge.config import HubConfig
from edge.errors import CommandError, EdgeError, StoreError
from edge.hub import systemd
from edge.hub.commands import CommandRouter
from edge.hub.devices import DeviceTable
from edge.hub.gate import JournalGate
from edge.hub.hall import HUB_STATE_TOPIC, HallLink
from edge.hub.pipeline import Ack, JournalPipeline
from edge.model import (
    BAD_ARGS,
    TIMEOUT,
    Command,
    Event,
    JournaledEvent,
    Output,
    Reply,
    Service,
    type_to_path,
)
from edge.store import BatchResult, DeadLetter, Journal, JournalReader
from edge.uplink import Uplink

log = logging.getLogger(__name__)

UNSENDABLE = "unsendable"  # dead-letter reason of an event the cloud broker cannot take

_json = msgspec.json.Encoder()

Decide = Callable[[JournaledEvent], bool]


class _CommandLog:
    """The router's command log, kept in the journal database (through the journal gate)."""

    def __init__(self, journal: Journal, executor: Executor) -> None:
        self.journal, self.executor = journal, executor

    async def seen(self, cmd_id: str, device_id: str, name: str) -> tuple[bool, bytes | None]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, self.journal.command_seen, cmd_id, device_id, name
        )

    async def replied(self, cmd_id: str, code: int, reply: bytes) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self.journal.command_replied, cmd_id, code, reply)


class Hub:
    """One hall's hub. `await Hub(cfg).run()` serves until `stop()` or a fatal error."""

    def __init__(self, cfg: HubConfig) -> None:
        self.cfg = cfg
        self.tz = ZoneInfo(cfg.hall.timezone)
        self.started = time.monotonic()
        self.since = datetime.now(UTC).isoformat(timespec="seconds")
        self.db_path = cfg.resolve(cfg.store.path)
        self.journal_executor = JournalGate()  # see hub/gate.py
        self.journal = Journal(
            self.db_path,
            cfg.hall.id,
            self.tz,
            synchronous=cfg.store.synchronous,
            spool_max_bytes=cfg.store.spool_max_bytes,
            max_bytes=cfg.store.disk_max_bytes,
        )
        self._check_disk_budget()
        self.reader = JournalReader(self.db_path)
        self._finish_interrupted_commands()
        self.services: list[Service] = []
        self.decide: Decide | None = None
        self.rule_state: Callable[[], bytes | None] | None = None
        self._rule_outputs: list[Output] = []
        self.rule_failed: Callable[[Command, str], None] | None = None
        # Saved once more after the last batch at shutdown (the per-batch save is rate-limited).
        self.final_rule_state: Callable[[], bytes | None] | None = None
        self.pipeline = JournalPipeline(
            self.journal,
            self.journal_executor,
            cfg.store.batch_max_rows,
            self._on_written,
            decide=self._decide,
            rule_state=self._dump_rule_state,
            linger_s=cfg.store.batch_linger_ms / 1000,
        )
        self.uplink = Uplink(
            cfg.cloud,
            cfg.hall.id,
            cfg.cloud.client_id or f"hall-edge-{cfg.hall.id}",
            self.journal,
            self.journal_executor,
            self.reader,
            on_command=self._cloud_command,
            device_states=lambda: self.devices.states(),  # noqa: PLW0108 - built below
            resolve=lambda p: str(cfg.resolve(p)),
            on_parked=self._event_parked,
        )
        self.hall = HallLink(
            cfg,
            self.pipeline,
            self.tz,
            on_state=self._device_state_message,
            on_reply=lambda d, p: self.devices.on_reply(d, p),  # noqa: PLW0108 - built below
            on_other=self._other_topic,
            extra_subscriptions=self._extra_subscriptions,
            state_payload=self._hub_state,
        )
        self.devices = DeviceTable(
            cfg.devices,
            self.pipeline,
            publish_hall=self.hall.publish,
            on_state_change=self._device_state_changed,
        )
        self.devices.on_error = lambda d, m: self._journal_later(
            self.journal.device_state, d, None, m
        )
        self.router = CommandRouter(
            self.devices,
            _CommandLog(self.journal, self.journal_executor),
            self.uplink.publish_reply,
            cfg.commands.timeout_s,
            cfg.commands.offline_wait_s,
            on_internal_failure=self._internal_command_failed,
        )
        self.router.register("config.get", self._config_get)
        self.topic_handlers: list[Callable[[str, bytes, Ack], bool]] = []
        self.subscriptions: list[str] = []
        self.background: list[Callable[[], Awaitable[None]]] = []
        self.on_stop: list[Callable[[], Awaitable[None]]] = []
        self.publish_local_events = True
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = asyncio.Event()
        self.service_errors = 0
        self.alerts_raised = 0
        self._unreported_drops: dict[str, int] = {}
        self._last_drop_alert = -1e9

    def _check_disk_budget(self) -> None:
        """[store] disk_max_bytes against the room there is: a budget the disk cannot give
        is no bound at all (the disk fills first), which the installer should know."""
        budget = self.cfg.store.disk_max_bytes
        if budget is None:
            return
        used = sum(
            p.stat().st_size for p in (self.db_path, Path(f"{self.db_path}-wal")) if p.exists()
        )
        free = shutil.disk_usage(self.db_path.parent).free
        if used + free < budget:
            log.warning(
                "%s: store.disk_max_bytes = %d but the journal (%d bytes) and the free space"
                " (%d bytes) come to only %d: the disk will fill before the budget",
                self.cfg.source,
                budget,
                used,
                free,
                used + free,
            )

    RESTART_MSG = "the hub restarted before the device answered"

    def _finish_interrupted_commands(self) -> None:
        """Commands of the last run still waiting for their device when it died get a
        final 408 now (contract §6): their arguments were never kept, so they cannot be
        sent again; a retry with the same cmd_id gets this reply."""

        def reply(cmd_id: str) -> bytes:
            return _json.encode(Reply(cmd_id, TIMEOUT, self.RESTART_MSG).as_dict())

        try:
            n = self.journal.finish_interrupted_commands(reply, TIMEOUT)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.db_path}: cannot read the command log: {exc}") from None
        if n:
            log.warning("%d commands in flight when the hub stopped: answered 408", n)

    # -- wiring points for the parts built on the core -----------------------------------
    def add_service(self, service: Service) -> None:
        self.services.append(service)

    def use_rules(
        self,
        decide: Decide,
        state: Callable[[], bytes | None],
        failed: Callable[[Command, str], None],
    ) -> None:
        """Rules run on the journal thread, inside the batch, so `drop` keeps an event out
        of the outbox and the rule state is committed with the events it has seen."""
        self.decide = decide
        self.rule_state = state
        self.rule_failed = failed

    # -- journal hooks (decide/rule_state run on the journal thread) ----------------------
    def _decide(self, ev: JournaledEvent) -> bool:
        if self.decide is None:
            return True
        return self.decide(ev)

    def _dump_rule_state(self) -> bytes | None:
        return None if self.rule_state is None else self.rule_state()

    def emit_rule_outputs(self, outputs: Sequence[Output]) -> None:
        """Called by the rules adapter on the journal thread; carried out after the commit."""
        self._rule_outputs.extend(outputs)

    def _on_written(self, result: BatchResult) -> None:
        self.uplink.notify(result.written)
        if self.publish_local_events:
            for w in result.written:
                self.hall.publish(f"hall/events/{type_to_path(w.event.type)}", w.envelope, 0, False)
        for etype, n in result.dropped.items():
            self._unreported_drops[etype] = self._unreported_drops.get(etype, 0) + n
        self._report_drops()
        outputs, self._rule_outputs = self._rule_outputs, []
        self.carry_out(outputs)
        for w in result.written:
            for service in self.services:
                try:
                    self.carry_out(service.handle(w.event))
                except Exception:
                    self.service_errors += 1
                    log.exception("service %s failed on event %s", service.name, w.event.seq)

    SPOOL_ALERT_INTERVAL_S = 30.0

    def _report_drops(self, force: bool = False) -> None:
        """One alert for the drops of up to 30 s: an alert is a business event itself, and
        one per batch would fill the very spool whose status events it reports."""
        if not self._unreported_drops:
            return
        now = time.monotonic()
        if not force and now - self._last_drop_alert < self.SPOOL_ALERT_INTERVAL_S:
            return
        self._last_drop_alert = now
        dropped, self._unreported_drops = self._unreported_drops, {}
        n = sum(dropped.values())
        self.raise_alert(
            "warning",
            "spool.budget",
            f"上行缓存超出容量，已丢弃{n}条状态类事件（业务事件未丢弃）",
            "spool",
            extra={"dropped": dropped},
        )

    def carry_out(self, outputs: Sequence[Output]) -> None:
        """Events a service or rule derived are journaled; commands go to their devices."""
        for out in outputs:
            if isinstance(out, Event):
                self.pipeline.submit(out)
            else:
                task = asyncio.get_running_loop().create_task(self.router.internal(out))
                task.add_done_callback(_log_task_error)

    def raise_alert(
        self,
        severity: str,
        rule: str,
        message: str,
        subject: str,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.alerts_raised += 1
        data = {
            "severity": severity,
            "rule": rule,
            "message": message,
            "subject": subject,
            **(extra or {}),
        }
        log.warning("alert %s: %s", rule, message)
        self.pipeline.submit(Event("alert.raised", "hub", data))

    def _event_parked(self, seq: int, event_type: str, env: bytes, reason: str) -> None:
        """An event the cloud broker can never take: a dead letter, and a word to the cloud."""
        detail = f"hallseq {seq}: {reason}"
        self.pipeline.dead_letter(DeadLetter(f"cloud/{event_type[:200]}", UNSENDABLE, detail, env))
        data = {"hallseq": seq, "type": event_type[:128], "reason": reason[:200]}
        self.pipeline.submit(Event("event.parked", "hub", data))

    def _internal_command_failed(self, cmd: Command, error: str) -> None:
        if cmd.origin.startswith("rule:") and self.rule_failed is not None:
            self.rule_failed(cmd, error)

    def _device_state_changed(self, device_id: str, state: dict[str, Any]) -> None:
        self.uplink.publish_device_state(device_id, state)
        self._journal_later(self.journal.device_state, device_id, state["state"] == "online")

    def _journal_later(self, fn: Callable[..., Any], *args: Any) -> None:
        """A journal write nobody waits for: through the gate, in turn with the batches."""
        fut = self.journal_executor.submit(fn, *args)
        fut.add_done_callback(_log_journal_error)

    # -- hall-side callbacks --------------------------------------------------------------
    def _device_state_message(self, device_id: str, online: bool, ack: Ack) -> None:
        self.devices.set_online(device_id, online, "last will" if not online else "", ack)

    def _other_topic(self, topic: str, payload: bytes, ack: Ack) -> bool:
        return any(handler(topic, payload, ack) for handler in self.topic_handlers)

    def _extra_subscriptions(self) -> list[str]:
        return list(self.subscriptions)

    def _hub_state(self, state: str) -> bytes:
        return _json.encode({"state": state, "version": __version__, "since": self.since})

    async def _cloud_command(
        self, device_id: str, name: str, payload: bytes, response: str | None, corr: bytes | None
    ) -> None:
        await self.router.from_cloud(device_id, name, payload, response, corr)

    async def _config_get(self, cmd: Command) -> Mapping[str, Any]:
        raw = msgspec.to_builtins(self.cfg)
        for section in ("hall_broker", "cloud"):
            if raw[section].get("password") is not None:
                raw[section]["password"] = "***"
        key = cmd.args.get("key")
        if key is None:
            return {"config": raw}
        node: Any = raw
        for part in str(key).split("."):
            if not isinstance(node, dict) or part not in node:
                raise CommandError(BAD_ARGS, f"no config key {key!r}")
            node = node[part]
        return {"key": key, "value": node}

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
                "outcomes": dict(sorted(self.hall.outcomes.items())),
            },
            "alerts": self.alerts_raised,
            "service_errors": self.service_errors,
            "rule_errors": self.journal.rule_errors,
            "replies": {str(k): v for k, v in sorted(self.router.counts.items())},
            "internal_replies": {str(k): v for k, v in sorted(self.router.internal_counts.items())},
        }

    # -- life cycle --------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Serve until stop(); raises EdgeError on a fatal fault (journal unwritable)."""
        fatal: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()
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
            self.db_path,
        )
        stop_wait: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        watched: list[asyncio.Future[Any]] = [stop_wait, fatal]
        try:
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
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
        self._report_drops(force=True)
        for hook in self.on_stop:
            with contextlib.suppress(Exception):
                await hook()
        # Give what is already in memory a moment to reach the journal; the brokers keep
        # anything not yet acknowledged, so nothing is lost if this is cut short.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.pipeline.drained(), 5.0)
        if self.final_rule_state is not None:
            # Awaited, not .result(): while a batch's COMMIT is in flight the gate queues
            # this call until the batch releases it, which happens on this very loop.
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(
                    self.journal_executor.submit(
                        self.journal.write_batch, [], rule_state=self.final_rule_state
                    )
                )
        with contextlib.suppress(Exception):
            await self.uplink.close()
        self.hall.closing = True
        link = self.hall.link
        if link is not None:
            self.hall.publish(HUB_STATE_TOPIC, self._hub_state("offline"), 1, True)
            await asyncio.sleep(0.05)
            await link.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.journal_executor.submit(self.journal.close).result()
        self.journal_executor.shutdown(wait=True)
        self.reader.close()
        # The last word on what this run did: an operator (and the fuzz test) reads here
        # what became of every message, without a broker to ask.
        log.info("hub stopped: %s", _json.encode(self.metrics()).decode())

    async def _ticker(self) -> None:
        last_expiry = last_prune = time.monotonic()
        loop = asyncio.get_running_loop()
        store = self.cfg.store
        while True:
            await asyncio.sleep(1.0)
            now = datetime.now(UTC)
            for service in self.services:
                try:
                    self.carry_out(service.tick(now))
                except Exception:
                    self.service_errors += 1
                    log.exception("service %s failed in tick", service.name)
            self._report_drops()
            mono = time.monotonic()
            if mono - last_expiry >= 60:
                last_expiry = mono
                dropped = await loop.run_in_executor(
                    self.journal_executor,
                    self.journal.expire_status,
                    store.spool_max_age_days * 86400,
                )
                if dropped:
                    self.raise_alert(
                        "warning",
                        "spool.age",
                        f"上行缓存中{sum(dropped.values())}条状态类事件超过保留期限，已丢弃",
                        "spool",
                        extra={"dropped": dropped},
                    )
            if mono - last_prune >= 3600:
                last_prune = mono
                await loop.run_in_executor(
                    self.journal_executor,
                    self.journal.prune,
                    store.journal_days,
                    7.0,
                    self.cfg.commands.remember_days,
                )

    async def _health(self) -> None:
        interval = systemd.watchdog_interval_s()
        period = min(5.0, interval) if interval else 5.0
        while True:
            systemd.notify("WATCHDOG=1")
            self.hall.publish("hall/hub/metrics", _json.encode(self.metrics()), 0, True)
            await asyncio.sleep(period)


def _log_journal_error(fut: Future[Any]) -> None:
    if fut.exception() is not None:
        log.error("journal write failed: %s", fut.exception())


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background command failed", exc_info=task.exception())
