"""The queue part: the queue manager, its commands, and the retained queue status."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from edge.hub.hall_link import HallLink
from edge.hub.part import Core, Part
from edge.model import ACCEPTED, Command, JournaledEvent, Output
from edge.queue import HUB_COMMANDS, QueueManager, command_to_event, request_id_of
from edge.uplink import Uplink

log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()


class _StatusPublisher:
    """Retained `queue.status` per service on the hall broker and the cloud, as the queue
    issue asks: a screen or a cloud dashboard that connects gets the current state at once."""

    name = "queue-status"

    def __init__(self, hall: HallLink, uplink: Uplink, hall_id: str) -> None:
        self.hall, self.uplink, self.hall_id = hall, uplink, hall_id

    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        if event.type == "queue.status" and not event.replayed:
            service = str(event.data.get("service", "all"))
            body = _json.encode(
                {**event.data, "time": event.time.isoformat(), "hallseq": event.seq}
            )
            self.hall.publish(f"hall/queue/status/{service}", body, 1, True)
            self.uplink.publish_raw(
                f"halls/{self.hall_id}/queue/status/{service}", body, retain=True
            )
        return ()

    def tick(self, now: datetime) -> Sequence[Output]:
        return ()


def attach_queue(core: Core) -> Part:
    cfg = core.cfg
    qm = QueueManager(cfg.queue, core.tz)
    if not qm.active:
        return Part()
    now = core.clock()
    start = qm.day_start(now)
    # State is rebuilt from today's journal; inputs answered by nothing yet are decided now.
    core.fanout.carry_out(qm.rebuild(core.reader.events(start, now + timedelta(days=1))))

    def make_handler(name: str) -> Any:
        async def handler(cmd: Command) -> Mapping[str, Any]:
            event = command_to_event(cmd, cfg.queue)
            core.pipeline.submit(event)
            return {"_code": ACCEPTED, "request_id": request_id_of(event)}

        return handler

    log.info("queue: %d services, %d counters", len(cfg.queue.services), len(cfg.queue.counters))
    return Part(
        services=[qm, _StatusPublisher(core.hall, core.uplink, cfg.hall.id)],
        commands={name: make_handler(name) for name in HUB_COMMANDS},
        exposes={"queue": qm},
    )
