"""The cloud's side of a fault test: a persistent QoS 1 subscriber that tallies envelopes
as they arrive (so a soak run with millions of events does not re-parse them to count)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.waits import wait_until


class _Envelope(msgspec.Struct):
    id: str
    type: str
    hallseq: int
    data: dict[str, Any]
    resent: bool = False


_decode = msgspec.json.Decoder(_Envelope).decode


@dataclass(frozen=True, slots=True)
class Seen:
    """What the tests need of an envelope: first sighting only, copies are counted apart."""

    seq: int
    type: str
    resent: bool
    n: Any  # the `n` the test put into the event data, if any
    data: dict[str, Any]  # kept only for events without an `n`


class CloudTally:
    """Subscribes to `halls/{hall}/#` on the cloud broker with a persistent session."""

    def __init__(
        self, url: str, hall_id: str = "test-hall", client_id: str = "fault-cloud"
    ) -> None:
        self.hall_id = hall_id
        self.prefix = f"halls/{hall_id}/"
        self.lock = threading.Lock()
        self.first: dict[str, Seen] = {}  # envelope id -> first copy
        self.copies: Counter[str] = Counter()  # envelope id -> how many copies arrived
        self.resent_copies = 0
        self.undecodable: list[bytes] = []
        self.states: list[tuple[str, dict[str, Any]]] = []  # hall and device states, in order
        self.total = 0
        port = int(url.rsplit(":", 1)[1])
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self.client.reconnect_delay_set(1, 2)
        self.subscribed = threading.Event()
        self.client.on_connect = lambda c, *_a: c.subscribe(f"{self.prefix}#", 1)
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise RuntimeError("the cloud subscriber could not subscribe")

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        topic = msg.topic
        if topic.startswith(self.prefix + "events/"):
            try:
                env = _decode(msg.payload)
            except msgspec.DecodeError:
                with self.lock:
                    self.undecodable.append(bytes(msg.payload))
                return
            with self.lock:
                self.total += 1
                self.copies[env.id] += 1
                if env.resent:
                    self.resent_copies += 1
                if env.id not in self.first:
                    n = env.data.get("n")
                    # Bulk load events carry an `n`; their data is not kept (soak runs hold
                    # millions). Alerts, device states and the like keep theirs.
                    data = {} if n is not None else env.data
                    self.first[env.id] = Seen(env.hallseq, env.type, env.resent, n, data)
        elif topic.endswith("/state") and msg.payload:
            state = msgspec.json.decode(msg.payload)
            with self.lock:
                self.states.append((topic, state))

    # -- views -------------------------------------------------------------------------------
    def unique(self) -> int:
        with self.lock:
            return len(self.first)

    def duplicates(self) -> int:
        """Copies beyond the first of every envelope id (at least once allows them)."""
        with self.lock:
            return self.total - len(self.first)

    def of_type(self, event_type: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.first.values() if s.type == event_type]

    def ns(self, event_type: str) -> set[Any]:
        """The `n` of every distinct event of this type that arrived."""
        return {s.n for s in self.of_type(event_type)}

    def request_ids(self) -> set[str]:
        """The request ids of the ticket requests that reached the cloud."""
        return {str(s.data.get("request_id")) for s in self.of_type("queue.ticket.requested")}

    def hall_states(self) -> list[str]:
        with self.lock:
            return [s.get("state", "") for t, s in self.states if t == self.prefix + "state"]

    def device_states(self, device_id: str) -> list[str]:
        topic = f"{self.prefix}devices/{device_id}/state"
        with self.lock:
            return [s.get("state", "") for t, s in self.states if t == topic]

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        wait_until(predicate, timeout, what)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
