"""The hall broker connection, the MQTT devices' transport: every message read goes to
the MQTT intake (edge/hub/mqtt_intake.py) with its acknowledgement, which is sent once
what it became is journaled; the hub's own messages go out here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial

import msgspec

from edge import __version__
from edge.config import HubConfig
from edge.errors import LinkError
from edge.hub.pipeline import Ack
from edge.mqttio import LinkOptions, MqttLink, Will
from edge.pacing import Backoff

log = logging.getLogger(__name__)

Receiver = Callable[[str, bytes, Ack | None], None]

HUB_STATE_TOPIC = "hall/hub/state"

_json = msgspec.json.Encoder()


class HallLink:
    """Persistent-session subscriber on the hall broker; the hub supervises `run`."""

    def __init__(self, cfg: HubConfig) -> None:
        self.cfg = cfg
        self.since = datetime.now(UTC).isoformat(timespec="seconds")
        self.link: MqttLink | None = None
        self.connected = asyncio.Event()
        self.received = 0
        self.connects = 0
        self.last_error = ""
        self.closing = False
        self.pauses = 0
        self._receive: Receiver | None = None
        self._full: Callable[[], bool] = _never
        self._topics: list[str] = []

    def route_to(self, receive: Receiver, topics: Sequence[str], full: Callable[[], bool]) -> None:
        """Where messages go, what to subscribe to, and when to stop reading (back-pressure);
        set once by the composition root before `run`."""
        self._receive, self._topics, self._full = receive, list(topics), full

    def state_payload(self, state: str) -> bytes:
        """The hub's retained `hall/hub/state` (and its last will, "offline")."""
        return _json.encode({"state": state, "version": __version__, "since": self.since})

    def resume(self) -> None:
        """The pipeline is below its low-water mark again: read on."""
        if self.link is not None:
            self.link.resume_reading()

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
            **b.tls_paths(res),
            will=Will(HUB_STATE_TOPIC, self.state_payload("offline")),
            manual_ack=True,
        )

    async def run(self) -> None:
        c = self.cfg.cloud
        backoff = Backoff(c.backoff_min_s, c.backoff_max_s)
        while True:
            link = MqttLink(self._options(), on_raw=self._on_raw)
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
            link.subscribe([(t, 1) for t in self._topics])
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

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        link = self.link
        if link is None or not link.is_open or not self.connected.is_set():
            return False
        try:
            link.publish(topic, payload, qos, retain)
        except LinkError:
            return False
        return True

    def publish_copies(self, messages: list[tuple[str, bytes]]) -> None:
        """The local QoS 0 copies of a batch, in one write; lost with a closed link."""
        link = self.link
        if link is not None and link.is_open and self.connected.is_set():
            link.publish_qos0(messages)

    def _on_raw(self, topic: bytes, payload: bytes, qos: int, mid: int) -> None:
        link, receive = self.link, self._receive
        if link is None or receive is None:
            return
        self.received += 1
        ack = None if qos == 0 else partial(_ack_if_open, link, mid, qos)
        # A broker should refuse a topic that is not UTF-8, but the hub must not trust that.
        receive(topic.decode("utf-8", "replace"), payload, ack)
        if self._full() and link.pause_reading():
            self.pauses += 1


def _ack_if_open(link: MqttLink, mid: int, qos: int) -> None:
    # A message of a connection that has since closed is not acknowledged: the broker
    # redelivers it to the persistent session, and the journal drops the repeat by its
    # device id (or journals it again: at least once).
    if link.is_open:
        link.ack(mid, qos)


def _never() -> bool:
    return False
