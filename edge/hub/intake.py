"""The one way in: every device event, availability change and dead letter, whether it
came over a serial line (a driver) or the hall broker (edge/hub/mqtt_intake.py), enters
the journal pipeline here. It is the `HubPort` a running driver is given
(edge/drivers/port.py)."""

from __future__ import annotations

import logging
from typing import Any

from edge.hub.devices import DeviceTable
from edge.hub.pipeline import Ack, JournalPipeline
from edge.hub.side_writes import DeviceLog
from edge.model import Event
from edge.store import DeadLetter

log = logging.getLogger(__name__)


class Intake:
    def __init__(self, pipeline: JournalPipeline, devices: DeviceTable, device_log: DeviceLog):
        self.pipeline, self.devices, self.device_log = pipeline, devices, device_log

    # -- HubPort ------------------------------------------------------------------------
    def submit(self, event: Event, on_committed: Ack | None = None) -> None:
        self.pipeline.submit(event, on_committed)

    def dead_letter(self, device_id: str, raw: bytes, where: str, reason: str) -> None:
        self.pipeline.dead_letter(DeadLetter(where, reason, "", raw, device_id))

    def set_online(
        self, device_id: str, online: bool, reason: str = "", ack: Ack | None = None
    ) -> None:
        """Journals device.online / device.offline when the availability changes."""
        if not self.devices.set_online(device_id, online):
            if ack:
                ack()
            return
        data: dict[str, Any] = {"reason": reason} if reason else {}
        event = Event("device.online" if online else "device.offline", device_id, data)
        self.pipeline.submit(event, ack)

    def log_error(self, device_id: str, message: str) -> None:
        if self.devices.count_error(device_id, message):
            self.device_log.error(device_id, message)
        log.warning("device %s: %s", device_id, message)

    # -- for the MQTT side --------------------------------------------------------------
    def dead(self, letter: DeadLetter, ack: Ack | None = None) -> None:
        self.pipeline.dead_letter(letter, ack)
