"""The web part: the hub's HTTP endpoints (metrics, health) and the hall console.

Built after the hub itself (edge/hub/build.py), since health and metrics read the running
hub. It adds one service to the fan-out (the console's view), one task (the server and the
view's refresh) and nothing to the pipeline but a listener per committed batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from edge.config.http import listen_address
from edge.hub.app import Hub
from edge.hub.health import liveness, readiness
from edge.hub.pipeline import Committed
from edge.model import Event
from edge.queue import catalogue as c
from edge.store import journal_bytes
from edge.web.hall_view import ALERT_ACKED, REBUILD_TYPES, HallView, Sources
from edge.web.http11 import HttpError, HttpServer
from edge.web.live import Live
from edge.web.metrics import HubFigures, Metrics
from edge.web.month_race import MonthRace
from edge.web.routes import Actions, WebApp
from edge.web.sessions import Sessions

log = logging.getLogger(__name__)

REFRESH_S = 0.2  # the console's sections are rebuilt at most this often (≤ 1 s to a page)
# The month's race reads the journal (a month of a busy hall: 1-2 s on the KPI thread):
# again after new ratings, but not more often than RACE_MIN_S, and at least every RACE_S.
RACE_MIN_S = 20.0
RACE_S = 300.0
CONSOLE_DEVICE = "console"


def figures(hub: Hub, kinds: Mapping[str, str], live: Live | None) -> HubFigures:
    """The hub's counters as the metrics name them (read at scrape time)."""
    u, p = hub.uplink.stats, hub.pipeline
    commands: dict[tuple[str, int], int] = {}
    for code, n in hub.router.counts.items():
        commands["cloud", code] = n
    for code, n in hub.router.internal_counts.items():
        commands["internal", code] = n
    engine = getattr(p.rules, "engine", None)
    queue = hub.exposes.get("queue")
    waiting = (
        {s["service"]: s["waiting"] for s in queue.summary(hub.core.clock())["services"]}
        if queue is not None
        else {}
    )
    return HubFigures(
        journaled=p.journaled,
        delivered=u.acked,
        resent=u.resent,
        duplicates=p.duplicates,
        backlog=hub.journal.spool_count,
        backlog_bytes=hub.journal.spool_bytes,
        dead_letters=p.dead_by_reason,
        cloud_connected=u.connected,
        hall_connected=hub.hall.connected.is_set(),
        devices=[(d, kinds.get(d, ""), e.online) for d, e in hub.devices.entries.items()],
        rule_firings=getattr(engine, "firings", {}),
        rule_errors=p.rules.errors,
        commands=commands,
        queue_waiting=waiting,
        alerts_raised=hub.alerts.raised,
        journal_bytes=journal_bytes(hub.journal.path),
        http_clients=0 if live is None else live.clients,
        uptime_s=round(time.monotonic() - hub.started, 1),
    )


class _Console:
    """The console's pieces and the hub's side of its actions."""

    def __init__(self, hub: Hub, kinds: Mapping[str, str], live: Live) -> None:
        cfg, core = hub.cfg, hub.core
        self.hub, self.kinds, self.live = hub, kinds, live
        self.kpi = hub.exposes.get("kpi")
        self.race: MonthRace | None = (
            MonthRace(self.kpi.kpi, cfg.kpi, core.tz) if self.kpi is not None else None
        )
        self.race_data: dict[str, Any] = {"month": None, "race": None, "ranking": []}
        self.view = HallView(
            (cfg.hall.id, cfg.hall.name),
            core.tz,
            core.clock,
            cfg.queue,
            hub.exposes.get("queue"),
            Sources(self.devices, self.ops, lambda: self.race_data, time.monotonic),
            live,
        )
        users = cfg.resolve(cfg.http.users_file) if cfg.http.users_file else None
        self.sessions = Sessions(users, cfg.http.session_hours, cfg.http.login_attempts_per_min)

    def devices(self) -> Iterable[Mapping[str, Any]]:
        for device_id, e in self.hub.devices.entries.items():
            yield {
                "id": device_id,
                "name": e.config.name,
                "kind": self.kinds.get(device_id, ""),
                "online": e.online,
                "since": e.since,
            }

    def ops(self) -> dict[str, Any]:
        u, store = self.hub.uplink.stats, self.hub.cfg.store
        return {
            "cloud": {
                "connected": u.connected,
                "backlog": self.hub.journal.spool_count,
                "backlog_bytes": self.hub.journal.spool_bytes,
                "rate": round(u.rate, 1),
                "last_error": u.last_error,
            },
            "hall_broker_connected": self.hub.hall.connected.is_set(),
            "journal": {
                "bytes": journal_bytes(self.hub.journal.path),
                "budget_bytes": store.disk_max_bytes or store.spool_max_bytes,
            },
        }

    def written(self, committed: Committed) -> None:
        for d in committed.dead:
            self.view.dead_letter(d.device_id)

    async def _submit_and_wait(self, event: Event) -> None:
        """Journal the event and return once it is committed (the page then sees it)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def ack() -> None:
            if not done.done():
                done.set_result(None)

        self.hub.pipeline.submit(event, ack)
        await asyncio.wait_for(done, 10.0)

    async def ack_alert(self, alert_id: str, user: str) -> bool:
        if alert_id not in self.view.alerts:
            return False
        await self._submit_and_wait(
            Event(ALERT_ACKED, CONSOLE_DEVICE, {"alert": alert_id, "by": user})
        )
        return True

    async def counter(self, number: int, action: str, user: str) -> dict[str, Any]:
        if self.hub.cfg.queue.counter(number) is None:
            raise HttpError(404, f"no counter {number} in this hall")
        press = f"console-{time.time_ns()}"
        event = Event(
            c.COUNTER_ACTION,
            CONSOLE_DEVICE,
            {"counter": number, "action": action, "press_id": press, "by": user},
        )
        await self._submit_and_wait(event)
        return {"code": 202, "counter": number, "action": action, "press_id": press}

    async def report(self, month: str) -> dict[str, Any]:
        kpi = self.kpi
        if kpi is None:
            raise HttpError(404, "the KPIs are off in this hall ([kpi] enabled = false)")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(kpi.executor, lambda: kpi.kpi.report(month=month))

    async def refresh(self) -> None:
        last_race, ratings_seen = -RACE_S, -1
        while True:
            since = time.monotonic() - last_race
            ratings = self.view.ratings_seen
            if since >= RACE_S or (ratings != ratings_seen and since >= RACE_MIN_S):
                last_race, ratings_seen = time.monotonic(), ratings
                await self._race()
            self.view.refresh()
            await asyncio.sleep(REFRESH_S)

    async def _race(self) -> None:
        race, kpi = self.race, self.kpi
        if race is None or kpi is None:
            return
        now = self.hub.core.clock()
        try:
            loop = asyncio.get_running_loop()
            self.race_data = await loop.run_in_executor(kpi.executor, race.compute, now)
        except Exception:
            log.exception("console: the month's race failed")
        self.view.dirty.add("ratings")


def attach_web(hub: Hub, kinds: Mapping[str, str]) -> None:
    """Adds the HTTP server (and the console, unless `[http] console = false`) to `hub`."""
    cfg = hub.cfg
    address = listen_address(cfg.http.listen)
    if address is None:
        return
    console: _Console | None = None
    live: Live | None = None
    if cfg.http.console:
        live = Live()
        console = _Console(hub, kinds, live)
        now = hub.core.clock()
        start = now.astimezone(hub.core.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        console.view.rebuild(hub.reader.events(start, now + timedelta(days=1), REBUILD_TYPES))
        hub.fanout.services.append(console.view)
        hub.pipeline.on_written.append(console.written)
        view = console.view
        hub.devices.on_state_change.append(lambda _id, _state: view.dirty.add("devices"))
    metrics = Metrics(lambda: figures(hub, kinds, live))
    hub.pipeline.on_written.append(lambda b: metrics.commit_seconds.observe(b.commit_s))
    app = WebApp(
        metrics,
        lambda: liveness(hub),
        lambda: readiness(hub),
        view=None if console is None else console.view,
        live=live,
        sessions=None if console is None else console.sessions,
        actions=None
        if console is None
        else Actions(console.ack_alert, console.counter, console.report),
        max_clients=cfg.http.max_clients,
    )
    server = HttpServer(app, max_connections=cfg.http.max_clients + 50)

    async def serve() -> None:
        bound = await _listen(server, address, cfg.http.listen)
        hub.http_address = bound
        log.info(
            "http: metrics, health%s on http://%s:%d/",
            " and the console" if console else "",
            *bound,
        )
        try:
            if console is not None:
                await console.refresh()
            else:
                await asyncio.Event().wait()
        finally:
            await server.close()

    serve.__name__ = "http"  # the task's name in the logs and in Hub.task()
    hub.background.append(serve)


async def _listen(server: HttpServer, address: tuple[str, int], text: str) -> tuple[str, int]:
    """Bind, retrying every 5 s: a port taken (an old hub still stopping) must not stop the
    hub's real work, its devices; the error is logged once, and again when it clears."""
    failed = False
    while True:
        try:
            bound = await server.start(*address)
        except OSError as exc:
            if not failed:
                log.error("http: cannot listen on %s (%s); retrying every 5 s", text, exc.strerror)
                failed = True
            await asyncio.sleep(5.0)
            continue
        if failed:
            log.info("http: listening on %s after all", text)
        return bound
