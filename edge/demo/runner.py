"""The demo, start to end: brokers → serial links → config → cloud watcher → hub →
simulated devices and cloud platform → live view; then the same in reverse, the brokers
last and always, whatever failed on the way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from edge.config import HubConfig
from edge.demo.brokers import start_brokers
from edge.demo.cloud_platform import CloudPlatform
from edge.demo.config import prepare_workdir, write_demo_config
from edge.demo.console_access import DEMO_USER, demo_user, free_listen
from edge.demo.hub_waits import drained, hub_ready
from edge.demo.options import CLOSES, OPENS, PAPER_INVOICES, DemoOptions, HallClock
from edge.demo.summary import DemoResult
from edge.demo.tally import CloudTally
from edge.demo.view import DemoStatus, dashboard, progress_line
from edge.demo.watch import CloudWatcher
from edge.errors import EdgeError
from edge.hub.app import Hub
from edge.hub.build import build_hub
from edge.sim.hall_day import HallDayReport, run_hall
from edge.sim.hall_links import HallLinks, open_hall_links
from edge.sim.mosquitto import Mosquitto

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 20.0
DRAIN_TIMEOUT_S = 10.0
REFRESH_S = 0.5
DEVICES_FINISH_S = 0.5  # above the simulated robot's task time (0.2 s)


@dataclass
class _Parts:
    """What is running, for the shutdown in reverse order."""

    brokers: tuple[Mosquitto, Mosquitto] | None = None
    links: HallLinks | None = None
    watcher: CloudWatcher | None = None
    hub: Hub | None = None
    hub_task: asyncio.Task[None] | None = None


@contextlib.contextmanager
def _logs_to(path: Path) -> Iterator[None]:
    """Send every log record to a file for the run: the terminal belongs to the view (and
    python-escpos installs a stderr handler on import)."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.handlers = saved
        root.setLevel(level)
        handler.close()


class DemoRun:
    """One run of the demo; `await run()` returns its DemoResult."""

    def __init__(
        self,
        opts: DemoOptions,
        console: Console,
        stop: asyncio.Event | None = None,
        hurry: asyncio.Event | None = None,
    ) -> None:
        opts.check()
        self.opts = opts
        self.console = console
        self.stop = stop or asyncio.Event()
        self.hurry = hurry or asyncio.Event()
        self.parts = _Parts()
        self.clock = HallClock(opts.speed)
        self.tally: CloudTally | None = None
        self.cfg: HubConfig | None = None
        self.day: HallDayReport | None = None
        self.platform: CloudPlatform | None = None
        self.started = time.monotonic()
        self.phase = "starting"
        self.final_metrics: dict[str, Any] = {}
        # Public so a test can see what was started after the run.
        self.broker_pids: list[int] = []
        self.broker_ports: list[int] = []

    def say(self, text: str) -> None:
        # soft_wrap: a progress line stays one line in a log, whatever the width.
        self.console.print(text, highlight=False, soft_wrap=True)
        log.info("demo: %s", Text.from_markup(text).plain.strip())

    async def run(self) -> DemoResult:
        own_dir = self.opts.workdir is None
        workdir = Path(tempfile.mkdtemp(prefix="hall-edge-demo-")) if own_dir else self.opts.workdir
        assert workdir is not None
        prepare_workdir(workdir)
        result: DemoResult | None = None
        try:
            with _logs_to(workdir / "demo.log"):
                try:
                    await self._start(workdir)
                    await self._show()
                finally:
                    await self._shut_down()
            result = self._result(workdir, kept=not own_dir)
            return result
        finally:
            keep = result is None or bool(result.problems())
            if own_dir and not keep:
                shutil.rmtree(workdir, ignore_errors=True)
            elif own_dir:
                self.say(f"[yellow]work folder kept for a look: {workdir} (demo.log, hall.db)[/]")
                if result is not None:
                    result.kept = True

    # -- start-up, in order ------------------------------------------------------------
    async def _start(self, workdir: Path) -> None:
        p, opts = self.parts, self.opts
        self.say("[bold]starting brokers…[/]")
        p.brokers = start_brokers(workdir)
        hall, cloud = p.brokers
        self.broker_pids = [b.pid for b in p.brokers if b.pid is not None]
        self.broker_ports = [hall.port, cloud.port]
        self.say(f"  hall broker  {hall.url}  (pid {hall.pid})")
        self.say(f"  cloud broker {cloud.url}  (pid {cloud.pid})")
        self.say(f"[bold]opening serial links…[/] {opts.counters} counters")
        p.links = open_hall_links(opts.counters, workdir / "links")
        devices = p.links.devices()
        listen = free_listen(opts.console)
        path, self.cfg = write_demo_config(
            workdir, hall.url, cloud.url, devices, opts.counters, http=listen
        )
        password = demo_user(workdir) if listen else ""
        self.say(f"  {len(devices)} devices; config written to {path}")
        self.tally = CloudTally(self.cfg.hall.id)
        p.watcher = CloudWatcher(cloud.url, self.tally)
        p.watcher.start()
        self.say(f"  cloud watcher subscribed to halls/{self.cfg.hall.id}/#")
        self.say("[bold]starting hub…[/]")
        # One clock for the hub and the devices: the hall day's, `speed` times the real one.
        p.hub = await build_hub(self.cfg, clock=self.clock.sim.now)
        p.hub_task = asyncio.create_task(p.hub.run(), name="demo-hub")
        await hub_ready(p.hub, p.hub_task, READY_TIMEOUT_S)
        self.say("[bold green]hub ready[/]: connected to the hall and cloud brokers")
        if listen:
            await self._say_console(p.hub, password)

    async def _say_console(self, hub: Hub, password: str) -> None:
        for _ in range(50):  # the server binds as the hub's first tasks run
            if hub.http_address is not None:
                host, port = hub.http_address
                self.say(
                    f"[bold]hall console[/]: open [link]http://{host}:{port}/[/link] in a browser"
                    f" (log in as {DEMO_USER} / {password} to acknowledge alerts)"
                )
                return
            await asyncio.sleep(0.1)
        self.say("[yellow]hall console: the hub did not start its HTTP side (see demo.log)[/]")

    # -- running ---------------------------------------------------------------------------
    async def _show(self) -> None:
        p, opts = self.parts, self.opts
        assert p.hub is not None and p.hub_task is not None and p.brokers is not None
        assert p.links is not None and p.watcher is not None
        self.say(f"[bold]starting simulated devices…[/] hall day 08:30–17:00 at ×{opts.speed:g}")
        sims_stop = asyncio.Event()
        clock = self.clock
        day = asyncio.create_task(
            run_hall(
                p.brokers[0].url,
                p.links,
                opts.speed,
                sims_stop,
                seed=opts.seed,
                opens=OPENS,
                closes=CLOSES,
                paper_invoices=PAPER_INVOICES,
                clock=clock.sim,
            ),
            name="demo-hall-day",
        )
        self.platform = CloudPlatform(p.watcher.command, opts.counters, seed=opts.seed)
        platform_stop = asyncio.Event()
        platform = asyncio.create_task(
            self.platform.run(opts.speed, platform_stop), name="demo-cloud"
        )
        self.phase = "running"
        try:
            await self._watch(clock, day, p.hub_task)
        finally:
            self.phase = "stopping: devices"
            self.say("[bold]stopping simulated devices…[/]")
            # The cloud stops asking first, so the devices can finish what they were told
            # (a robot task takes a moment) before they disconnect.
            platform_stop.set()
            await asyncio.gather(platform, return_exceptions=True)
            if not day.done():
                await asyncio.sleep(DEVICES_FINISH_S)
            sims_stop.set()
            results = await asyncio.gather(day, return_exceptions=True)
        if p.hub_task.done():
            p.hub_task.result()
            raise EdgeError("the hub stopped by itself")
        if isinstance(results[0], BaseException):
            raise EdgeError(f"simulated devices failed: {results[0]!r}")
        self.day = results[0] if isinstance(results[0], HallDayReport) else None
        self.phase = "stopping: delivering the last events"
        self.say("[bold]delivering the last events…[/]")
        assert self.tally is not None
        if not await drained(p.hub, self.tally, DRAIN_TIMEOUT_S, self.hurry):
            self.say("[yellow]the last events were not all delivered in time[/]")

    async def _watch(
        self, clock: HallClock, day: asyncio.Task[HallDayReport], hub: asyncio.Task[None]
    ) -> None:
        """Refresh the view until Ctrl-C, the duration, the end of the day or a hub fault."""
        opts = self.opts
        end = None if opts.duration_s is None else self.started + opts.duration_s
        if opts.live:
            with Live(
                console=self.console, auto_refresh=False, screen=True, redirect_stderr=False
            ) as live:
                await self._loop(
                    clock,
                    day,
                    hub,
                    end,
                    lambda: live.update(self._dashboard(clock), refresh=True),
                    REFRESH_S,
                )
        else:
            await self._loop(
                clock, day, hub, end, lambda: self.say(self._line(clock)), opts.every_s
            )
            self.say(self._line(clock))

    async def _loop(
        self,
        clock: HallClock,
        day: asyncio.Task[HallDayReport],
        hub: asyncio.Task[None],
        end: float | None,
        show: Callable[[], None],
        every_s: float,
    ) -> None:
        next_show = time.monotonic()
        while not (self.stop.is_set() or day.done() or hub.done()):
            now = time.monotonic()
            if end is not None and now >= end:
                return
            if now >= next_show:
                show()
                next_show = now + every_s
            wait = min(0.1, max(0.0, next_show - now))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), wait)

    def _status(self, clock: HallClock) -> DemoStatus:
        assert self.cfg is not None
        return DemoStatus(
            hall_name=self.cfg.hall.name,
            hall_id=self.cfg.hall.id,
            speed=self.opts.speed,
            elapsed_s=time.monotonic() - self.started,
            hall_clock=clock.text(),
            phase=self.phase,
            duration_s=self.opts.duration_s,
        )

    def _dashboard(self, clock: HallClock) -> Any:
        assert self.tally is not None and self.parts.hub is not None
        snap = self.tally.snapshot(time.monotonic())
        return dashboard(
            snap, self.parts.hub.metrics(), self._status(clock), self.console.size.height
        )

    def _line(self, clock: HallClock) -> str:
        assert self.tally is not None and self.parts.hub is not None
        snap = self.tally.snapshot(time.monotonic())
        return progress_line(snap, self.parts.hub.metrics(), self._status(clock))

    # -- shutdown, in reverse --------------------------------------------------------------
    async def _shut_down(self) -> None:
        p = self.parts
        try:
            if p.hub is not None:
                if p.hub_task is not None and not p.hub_task.done():
                    self.say("[bold]stopping hub…[/]")
                    p.hub.stop()
                    try:
                        await asyncio.wait_for(asyncio.shield(p.hub_task), 15.0)
                    except TimeoutError:
                        p.hub_task.cancel()
                        with contextlib.suppress(BaseException):
                            await p.hub_task
                    except EdgeError as exc:
                        self.say(f"[red]hub: {exc}[/]")
                # After the stop: what the hub journaled while stopping counts too.
                self.final_metrics = p.hub.metrics()
                if self.tally is not None:
                    await self._watcher_catch_up(p.hub)
        finally:
            if p.watcher is not None:
                p.watcher.stop()
            if p.links is not None:
                p.links.close()
            if p.brokers is not None:
                self.say("[bold]stopping brokers…[/]")
                for broker in p.brokers:
                    broker.stop()

    async def _watcher_catch_up(self, hub: Hub, timeout_s: float = 1.0) -> None:
        """Give the cloud watcher a moment for what the hub delivered while stopping."""
        assert self.tally is not None
        delivered = hub.journal.last_seq - hub.journal.spool_count
        for _ in range(int(timeout_s / 0.05)):
            if self.tally.max_seq() >= delivered:
                return
            await asyncio.sleep(0.05)

    def _result(self, workdir: Path, kept: bool) -> DemoResult:
        assert self.tally is not None and self.cfg is not None
        snap = self.tally.snapshot(time.monotonic())
        brokers = self.parts.brokers or ()
        return DemoResult(
            workdir=workdir,
            kept=kept,
            elapsed_s=time.monotonic() - self.started,
            events=snap.events,
            by_type=snap.by_type,
            by_device=snap.by_device,
            by_source=snap.by_source,
            seq=snap.seq,
            replies=snap.replies,
            failures=snap.failures,
            speed=self.opts.speed,
            commands_sent=self.platform.sent if self.platform else 0,
            alerts=snap.alerts_total,
            metrics=self.final_metrics,
            journal_last_seq=int(self.final_metrics.get("last_seq", 0)),
            devices={d.id: d.profile for d in self.cfg.devices},
            day=self.day,
            brokers_stopped=all(not b.running for b in brokers),
        )


async def run_demo(
    opts: DemoOptions,
    console: Console,
    stop: asyncio.Event | None = None,
    hurry: asyncio.Event | None = None,
) -> DemoResult:
    """Run the demo until `stop` (Ctrl-C), the duration or the end of the hall day.

    `hurry` (a second Ctrl-C) skips waiting for the last events. The brokers are stopped
    whatever happens; EdgeError for what keeps the demo from running.
    """
    return await DemoRun(opts, console, stop, hurry).run()
