"""The hub's own word to the cloud: `alert.raised` and `event.parked` events."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from edge.hub.pipeline import JournalPipeline
from edge.model import Event
from edge.store import DeadLetter

log = logging.getLogger(__name__)

UNSENDABLE = "unsendable"  # dead-letter reason of an event the cloud broker cannot take

SPOOL_ALERT_INTERVAL_S = 30.0


class Alerts:
    def __init__(self, pipeline: JournalPipeline) -> None:
        self.pipeline = pipeline
        self.raised = 0
        self._unreported_drops: dict[str, int] = {}
        self._last_drop_alert = -1e9

    def raise_alert(
        self,
        severity: str,
        rule: str,
        message: str,
        subject: str,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.raised += 1
        data = {
            "severity": severity,
            "rule": rule,
            "message": message,
            "subject": subject,
            **(extra or {}),
        }
        log.warning("alert %s: %s", rule, message)
        self.pipeline.submit(Event("alert.raised", "hub", data))

    def count_drops(self, dropped: Mapping[str, int]) -> None:
        for etype, n in dropped.items():
            self._unreported_drops[etype] = self._unreported_drops.get(etype, 0) + n
        self.report_drops()

    def report_drops(self, force: bool = False) -> None:
        """One alert for the drops of up to 30 s: an alert is a business event itself, and
        one per batch would fill the very spool whose status events it reports."""
        if not self._unreported_drops:
            return
        now = time.monotonic()
        if not force and now - self._last_drop_alert < SPOOL_ALERT_INTERVAL_S:
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

    def expired(self, dropped: Mapping[str, int]) -> None:
        if dropped:
            self.raise_alert(
                "warning",
                "spool.age",
                f"上行缓存中{sum(dropped.values())}条状态类事件超过保留期限，已丢弃",
                "spool",
                extra={"dropped": dict(dropped)},
            )

    def parked(self, seq: int, event_type: str, env: bytes, reason: str) -> None:
        """An event the cloud broker can never take: a dead letter, and a word to the cloud."""
        detail = f"hallseq {seq}: {reason}"
        self.pipeline.dead_letter(DeadLetter(f"cloud/{event_type[:200]}", UNSENDABLE, detail, env))
        data = {"hallseq": seq, "type": event_type[:128], "reason": reason[:200]}
        self.pipeline.submit(Event("event.parked", "hub", data))
