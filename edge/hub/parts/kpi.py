"""The KPI part: waiting and service times, ratings, the model counter, off the loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from edge.errors import CommandError
from edge.hub.part import Core, Part
from edge.hub.pipeline import JournalPipeline
from edge.kpi import KpiService
from edge.model import BAD_ARGS, DONE, Command, JournaledEvent, Output
from edge.store import JournalReader, journal_path

log = logging.getLogger(__name__)


class _KpiInThread:
    """KPIs read a month of journal (≈1–2 s for a busy hall): off the loop, on one thread
    with its own read connection, so devices keep being served meanwhile."""

    name = "kpi"

    def __init__(self, core: Core) -> None:
        self.pipeline: JournalPipeline = core.pipeline
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="kpi")
        self.reader = JournalReader(journal_path(core.cfg))
        self.kpi = KpiService(core.cfg.kpi, core.tz, self.reader.events)
        self._running: asyncio.Future[Sequence[Output]] | None = None

    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        return self.kpi.handle(event)

    def tick(self, now: datetime) -> Sequence[Output]:
        fut = self._running
        if fut is not None:
            if not fut.done():
                return ()
            self._running = None
            try:
                return fut.result()
            except Exception:
                log.exception("kpi tick failed")
                return ()
        loop = asyncio.get_running_loop()
        self._running = loop.run_in_executor(self.executor, self.kpi.tick, now)
        return ()

    async def report(self, cmd: Command) -> Mapping[str, Any]:
        day, month = cmd.args.get("day"), cmd.args.get("month")
        if (day is not None and not isinstance(day, str)) or (
            month is not None and not isinstance(month, str)
        ):
            raise CommandError(BAD_ARGS, "day must be YYYY-MM-DD and month YYYY-MM")
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(
            self.executor, lambda: self.kpi.report(day=day, month=month)
        )
        if cmd.args.get("publish") and month:
            self.pipeline.submit(self.kpi.model_window_event(month))
        return {"_code": DONE, **data}

    async def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def attach_kpi(core: Core) -> Part:
    if not core.cfg.kpi.enabled:
        return Part()
    kpi = _KpiInThread(core)
    return Part(
        services=[kpi],
        commands={"kpi.report": kpi.report},
        on_stop=[kpi.close],
        exposes={"kpi": kpi},
    )
