"""After a batch is on disk: who hears of it, and how derived outputs are carried out.

In this order: the uplink (the cloud), the hall broker's local copy for screens and tools,
the spool alerts, the rules' outputs, then every service (queue, KPIs, faces, …), whose own
outputs are carried out the same way: an event is journaled (it comes back through the
pipeline), a command goes to its device through the router.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from edge.hub.alerts import Alerts
from edge.hub.commands import CommandRouter
from edge.hub.hall_link import HallLink
from edge.hub.pipeline import Committed, JournalPipeline
from edge.model import Event, Output, Service, type_to_path
from edge.uplink import Uplink

log = logging.getLogger(__name__)


class Fanout:
    def __init__(
        self,
        pipeline: JournalPipeline,
        router: CommandRouter,
        uplink: Uplink,
        hall: HallLink,
        alerts: Alerts,
        publish_local: bool = True,
    ) -> None:
        self.pipeline, self.router, self.uplink, self.hall = pipeline, router, uplink, hall
        self.alerts = alerts
        self.publish_local = publish_local
        self.services: list[Service] = []
        self.service_errors = 0

    def written(self, committed: Committed) -> None:
        result = committed.result
        self.uplink.notify(result.written)
        if self.publish_local and result.written:
            self.hall.publish_copies(
                [(f"hall/events/{type_to_path(w.event.type)}", w.envelope) for w in result.written]
            )
        self.alerts.count_drops(result.dropped)
        self.carry_out(committed.outputs)
        for w in result.written:
            for service in self.services:
                try:
                    self.carry_out(service.handle(w.event))
                except Exception:
                    self.service_errors += 1
                    log.exception("service %s failed on event %s", service.name, w.event.seq)

    def tick(self, now: datetime) -> None:
        for service in self.services:
            try:
                self.carry_out(service.tick(now))
            except Exception:
                self.service_errors += 1
                log.exception("service %s failed in tick", service.name)

    def carry_out(self, outputs: Sequence[Output]) -> None:
        """Events a service or rule derived are journaled; commands go to their devices."""
        for out in outputs:
            if isinstance(out, Event):
                self.pipeline.submit(out)
            else:
                task = asyncio.get_running_loop().create_task(self.router.internal(out))
                task.add_done_callback(_log_task_error)


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background command failed", exc_info=task.exception())
