"""The hall broker connection: device events in (acknowledged after the journal commit),
device availability, device replies, and the hub's own messages out."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import tzinfo

import paho.mqtt.client as paho

from edge.config import HubConfig
from edge.drivers import convention
from edge.errors import LinkError, PayloadError, described
from edge.hub.pipeline import Ack, JournalPipeline
from edge.mqttio import LinkOptions, MqttLink, Will
from edge.store import INTERNAL_ERROR, DeadLetter
from edge.uplink import Backoff

log = logging.getLogger(__name__)

HUB_STATE_TOPIC = "hall/hub/state"


class HallLink:
    """Persistent-session subscriber on the hall broker; the hub supervises `run`."""

    def __init__(
        self,
        cfg: HubConfig,
        pipeline: JournalPipeline,
        tz: tzinfo,
        on_state: Callable[[str, bool, Ack], None],
        on_reply: Callable[[str, bytes], None],
        on_other: Callable[[str, bytes, Ack], bool],
        extra_subscriptions: Callable[[], list[str]],
        state_payload: Callable[[str], bytes],
    ) -> None:
        self.cfg = cfg
        self.pipeline = pipeline
        self.tz = tz
        self.known = {d.id for d in cfg.devices}
        self.max_bytes = cfg.hall_broker.max_message_bytes
        self.on_state = on_state
        self.on_reply = on_reply
        self.on_other = on_other
        self.extra_subscriptions = extra_subscriptions
        self.state_payload = state_payload
        self.link: MqttLink | None = None
        self.connected = asyncio.Event()
        self.received = 0
        self.connects = 0
        self.last_error = ""
        self.closing = False
        self.pauses = 0
        # What became of each message read (docs/operations.md, "hall.outcomes"): every one
        # is counted once as an event, a dead letter or one of the documented drops.
        self.outcomes: Counter[str] = Counter()
        pipeline.on_low_water.append(self._resume)

    @property
    def client_id(self) -> str:
        return self.cfg.hall_broker.client_id or f"hall-edge-{self.cfg.hall.id}"

    def _options(self) -> LinkOptions:
        b = self.cfg.hall_broker
        res = self.cfg.resolve
        return LinkOptions(
            url=b.url,
            client_id=self.client_id,
            # MQTT 3.1.1: paho builds a Properties object per packet under MQTT 5, the
            # largest single cost per message on this path; the hall side needs none.
            mqtt5=False,
            clean=False,  # persistent session: the broker keeps unacknowledged messages
            keepalive_s=b.keepalive_s,
            username=b.username,
            password=b.password,
            ca=str(res(b.ca)) if b.ca else None,
            cert=str(res(b.cert)) if b.cert else None,
            key=str(res(b.key)) if b.key else None,
            will=Will(HUB_STATE_TOPIC, self.state_payload("offline")),
            manual_ack=True,
        )

    async def run(self) -> None:
        c = self.cfg.cloud
        backoff = Backoff(c.backoff_min_s, c.backoff_max_s)
        while True:
            link = MqttLink(self._options(), on_message=self._on_message)
            # Set before connecting: a persistent session's queued messages arrive right
            # behind the CONNACK, in the same read, and must find their link.
            self.link = link
            try:
                present = await link.connect()
            except LinkError as exc:
                self.link = None
                self.last_error = str(exc)
                delay = backoff.next()
                log.warning("hall broker: %s; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            self.connects += 1
            log.info(
                "hall broker: connected to %s (session present: %s)", link.options.url, present
            )
            topics = [
                convention.EVENTS_FILTER,
                convention.STATE_FILTER,
                convention.REPLIES_FILTER,
                *self.extra_subscriptions(),
            ]
            link.subscribe([(t, 1) for t in topics])
            link.publish(HUB_STATE_TOPIC, self.state_payload("online"), 1, True)
            self.connected.set()
            try:
                self.last_error = await link.closed
            finally:
                self.connected.clear()
                self.link = None
                link.abort()
            if self.closing:
                return
            log.warning("hall broker: connection lost (%s)", self.last_error)
            await asyncio.sleep(backoff.next())

    def _resume(self) -> None:
        if self.link is not None:
            self.link.resume_reading()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        link = self.link
        if link is None or not link.is_open or not self.connected.is_set():
            return False
        try:
            link.publish(topic, payload, qos, retain)
        except LinkError:
            return False
        return True

    def _ack_for(self, link: MqttLink, msg: paho.MQTTMessage) -> Ack | None:
        if msg.qos == 0:
            return None
        mid, qos = msg.mid, msg.qos

        def ack() -> None:
            # A message of a connection that has since closed is not acknowledged: the
            # broker redelivers it to the persistent session, and the journal drops the
            # repeat by its device id (or journals it again: at least once).
            if link.is_open:
                link.ack(mid, qos)

        return ack

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        link = self.link
        if link is None:
            return
        self.received += 1
        ack = self._ack_for(link, msg)
        # paho decodes the topic lazily and strictly; a broker should refuse bad UTF-8, but
        # the hub must not trust that.
        raw_topic: bytes = msg._topic
        topic = raw_topic.decode("utf-8", "replace")
        payload = bytes(msg.payload)
        try:
            self._dispatch(topic, payload, ack)
        except Exception as exc:
            # A bug in one stage must cost one message, never the link: left to paho, the
            # exception would make it read the same packet again, forever.
            detail = described(exc)
            log.error("hall broker: message on %.120s failed: %s", topic, detail)
            self._dead(topic, payload, INTERNAL_ERROR, detail, None, ack)

    def _dispatch(self, topic: str, payload: bytes, ack: Ack | None) -> None:
        link = self.link
        try:
            device_id, kind, path = convention.split_topic(topic)
        except PayloadError:
            device_id, kind, path = "", "", ""
        if kind == "state" and not path and not payload:
            self.outcomes["state_cleared"] += 1
            if ack:
                ack()  # a retained state being cleared
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
            self.pipeline.submit(event, ack)
            if (
                link is not None
                and self.pipeline.pending >= self.pipeline.high_water
                and link.pause_reading()
            ):
                self.pauses += 1
            return
        if kind == "state" and not path:
            try:
                online = convention.decode_state(payload)
            except PayloadError as exc:
                self._dead(topic, payload, exc.reason, exc.detail, device_id, ack)
                return
            self.outcomes["state"] += 1
            self.on_state(device_id, online, ack or _noop)
            return
        if kind == "replies" and not path:
            # The reply handler dead-letters what it cannot read itself.
            self.outcomes["reply"] += 1
            self.on_reply(device_id, payload)
            if ack:
                ack()
            return
        if kind == "commands":
            self.outcomes["own_command"] += 1
            if ack:
                ack()  # our own command topics, if a wildcard ever catches them
            return
        if self.on_other(topic, payload, ack or _noop):
            self.outcomes["vendor"] += 1
            return
        self._dead(
            topic,
            payload,
            convention.BAD_TOPIC,
            "no device or convention owns this topic",
            device_id or None,
            ack,
        )

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
        self.pipeline.dead_letter(
            DeadLetter(topic, reason, detail, payload, device_id or None), ack
        )


def _noop() -> None:
    return None
