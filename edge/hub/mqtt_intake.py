"""Messages from the hall broker, decoded: the convention's topics (edge/drivers/convention.py)
and the vendor codecs' and cameras' topics, each becoming an event, an availability change,
a reply or a dead letter, through the intake like a serial device's frames."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import tzinfo

from edge.drivers import convention
from edge.drivers.json_input import decode_json
from edge.errors import PayloadError, described
from edge.hub.devices import DeviceTable
from edge.hub.intake import Intake
from edge.hub.pipeline import Ack
from edge.model import DEVICE_ERROR, Reply
from edge.store import INTERNAL_ERROR, DeadLetter

log = logging.getLogger(__name__)

# A part's handler of topics the convention does not own: True if it took the message.
TopicHandler = Callable[[str, bytes, Ack], bool]

CONVENTION_FILTERS = (convention.EVENTS_FILTER, convention.STATE_FILTER, convention.REPLIES_FILTER)


class MqttIntake:
    def __init__(
        self,
        intake: Intake,
        devices: DeviceTable,
        tz: tzinfo,
        max_bytes: int,
        handlers: Sequence[TopicHandler],
    ) -> None:
        self.intake, self.devices, self.tz, self.max_bytes = intake, devices, tz, max_bytes
        self.known = set(devices.entries)
        self.handlers = list(handlers)
        # What became of each message read (docs/operations.md, "hall.outcomes"): every one
        # is counted once as an event, a dead letter or one of the documented drops.
        self.outcomes: Counter[str] = Counter()

    def receive(self, topic: str, payload: bytes, ack: Ack | None) -> None:
        try:
            self._dispatch(topic, payload, ack)
        except Exception as exc:
            # A bug in one stage must cost one message, never the link: left to paho, the
            # exception would make it read the same packet again, forever.
            detail = described(exc)
            log.error("hall broker: message on %.120s failed: %s", topic, detail)
            self._dead(topic, payload, INTERNAL_ERROR, detail, None, ack)

    def _dispatch(self, topic: str, payload: bytes, ack: Ack | None) -> None:
        try:
            device_id, kind, path = convention.split_topic(topic)
        except PayloadError:
            device_id, kind, path = "", "", ""
        if kind == "state" and not path and not payload:
            self._done("state_cleared", ack)  # a retained state being cleared
            return
        if kind in ("events", "state") and device_id not in self.known:
            reason = f"device {device_id[:80]!r} is not configured"
            self._dead(topic, payload, convention.UNKNOWN_DEVICE, reason, device_id, ack)
            return
        if kind == "events":
            try:
                event = convention.decode_event(device_id, path, payload, self.max_bytes, self.tz)
            except PayloadError as exc:
                self._dead(topic, payload, exc.reason, exc.detail, device_id, ack)
                return
            self.outcomes["event"] += 1
            self.intake.submit(event, ack)
            return
        if kind == "state" and not path:
            try:
                online = convention.decode_state(payload)
            except PayloadError as exc:
                self._dead(topic, payload, exc.reason, exc.detail, device_id, ack)
                return
            self.outcomes["state"] += 1
            self.intake.set_online(device_id, online, "" if online else "last will", ack)
            return
        if kind == "replies" and not path:
            self._reply(topic, device_id, payload, ack)
            return
        if kind == "commands":
            self._done("own_command", ack)  # our own command topics, if a wildcard catches them
            return
        if any(handler(topic, payload, ack or _noop) for handler in self.handlers):
            self.outcomes["vendor"] += 1
            return
        reason = "no device or convention owns this topic"
        self._dead(topic, payload, convention.BAD_TOPIC, reason, device_id or None, ack)

    def _reply(self, topic: str, device_id: str, payload: bytes, ack: Ack | None) -> None:
        """A device's reply on hall/devices/{id}/replies; what cannot be read is a dead letter."""
        self.outcomes["reply"] += 1
        try:
            obj = decode_json(payload, "invalid_json")
        except PayloadError as exc:
            self.intake.dead(DeadLetter(topic, exc.reason, exc.detail, payload, device_id), ack)
            return
        problem = None
        if not isinstance(obj, dict) or not isinstance(obj.get("cmd_id"), str):
            problem = "reply without cmd_id"
        elif not isinstance(obj.get("data") or {}, dict):
            problem = "reply data is not an object"
        if problem is not None:
            self.intake.dead(DeadLetter(topic, "bad_field", problem, payload, device_id), ack)
            return
        assert isinstance(obj, dict)
        reply = Reply(
            obj["cmd_id"], _code(obj.get("code")), _text(obj.get("msg", "")), obj.get("data") or {}
        )
        self.devices.deliver_reply(reply)
        if ack:
            ack()

    def _done(self, outcome: str, ack: Ack | None) -> None:
        self.outcomes[outcome] += 1
        if ack:
            ack()

    def _dead(
        self,
        topic: str,
        payload: bytes,
        reason: str,
        detail: str,
        device_id: str | None,
        ack: Ack | None,
    ) -> None:
        self.outcomes["dead_letter"] += 1
        self.intake.dead(DeadLetter(topic, reason, detail, payload, device_id or None), ack)


def _text(value: object) -> str:
    return "" if isinstance(value, dict | list) else str(value)[:1000]


def _code(value: object) -> int:
    return value if isinstance(value, int) and 100 <= value <= 599 else DEVICE_ERROR


def _noop() -> None:
    return None
