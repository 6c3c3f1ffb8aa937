"""QoS 1 publishes in bulk, beside paho's own: the send side of the cloud link's drain.

paho's `publish` builds an MQTTMessage, an MQTTMessageInfo and a packet dict per message,
and every PUBACK decodes into a ReasonCode and a Properties object before the callback
runs: about half of the hub's CPU per event while a backlog drains. Here a run of
publishes is framed into one buffer and queued as one of paho's outgoing packets (so it
stays in order with paho's own, and paho's writer, keep-alive and socket callbacks work
unchanged), and the PUBACKs for those packet ids are answered from a plain dict before
paho would look for them among its messages.

The packet ids come from paho's own counter, skipping any still in flight on either side,
so a paho publish (a retained state, a reply) and a bulk one never share an id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

# b"\x32" below: a PUBLISH at QoS 1, not a duplicate, not retained (the fixed header).
_PUBACK = "PUBACK"
MID_SPACE = 65535

# (topic as bytes, payload prefix, payload): the prefix replaces the payload's first byte
# when it is not empty (the envelope's `{` becomes `{"resent":true,`), so marking an event
# costs no copy of its envelope.
Publish = tuple[bytes, bytes, bytes]
PubackHandler = Callable[[int, int], None]


def remaining_length(n: int) -> bytes:
    """MQTT's variable-length integer (1 to 4 bytes)."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


class BulkPublishClient(paho.Client):
    """paho's client with `publish_bulk`; the link sets `on_bulk_puback` before using it."""

    _bulk_in_flight: set[int] | None = None
    _topic_fields: dict[bytes, bytes] | None = None
    on_bulk_puback: PubackHandler | None = None

    def _bulk_mids(self) -> set[int]:
        if self._bulk_in_flight is None:
            self._bulk_in_flight = set()
        return self._bulk_in_flight

    def _free_mid(self, also: AbstractSet[int] = frozenset()) -> int:
        """The next id of paho's counter not in flight: bulk, paho's own, or `also` (the
        link's single QoS 1 publishes, edge/mqttio.py)."""
        taken, theirs = self._bulk_mids(), self._out_messages
        for _ in range(MID_SPACE):
            mid = self._mid_generate()
            if mid not in taken and mid not in theirs and mid not in also:
                return mid
        raise ValueError("every MQTT packet id is in flight")

    def skip_bulk_mids(self, also: AbstractSet[int] = frozenset()) -> None:
        """Before a paho publish: move paho's counter past ids of ours still in flight, so
        its next id is free (paho checks only its own messages). Otherwise, after the
        counter wrapped, our handler would take that message's PUBACK for one of ours, and
        an event would leave the outbox before its own PUBACK."""
        taken = self._bulk_in_flight
        if not taken and not also:
            return
        with self._mid_generate_mutex:
            for _ in range(MID_SPACE):
                nxt = self._last_mid % MID_SPACE + 1
                if (not taken or nxt not in taken) and nxt not in also:
                    return
                self._last_mid = nxt

    def publish_bulk(
        self, publishes: Sequence[Publish], also: AbstractSet[int] = frozenset()
    ) -> list[int]:
        """Queue `publishes` at QoS 1 as one write; their packet ids, in order.

        The caller has checked topics (no wildcards, at most 65,535 bytes) and sizes.
        """
        if self._sock is None:
            raise ConnectionError("not connected")
        taken = self._bulk_mids()
        v5 = self._protocol == paho.MQTTv5
        # Topic length + topic + packet id (+ MQTT 5's empty properties).
        fixed = 4 + (1 if v5 else 0)
        parts: list[bytes | memoryview] = []
        mids: list[int] = []
        add = parts.append
        # A hub sends a handful of event types: each topic's length field is made once.
        fields = self._topic_fields
        if fields is None:
            fields = self._topic_fields = {}
        no_props = b"\x00" if v5 else b""
        for topic, prefix, payload in publishes:
            mid = self._free_mid(also)
            taken.add(mid)
            mids.append(mid)
            field = fields.get(topic)
            if field is None:
                if len(fields) >= 1024:
                    fields.clear()  # a bound, should event types ever be unbounded
                field = fields[topic] = len(topic).to_bytes(2, "big") + topic
            size = fixed + len(topic) + len(payload) + (len(prefix) - 1 if prefix else 0)
            add(b"\x32" + remaining_length(size) + field)
            add(mid.to_bytes(2, "big") + no_props)
            if prefix:
                add(prefix)
                add(memoryview(payload)[1:])
            else:
                add(payload)
        if parts:
            rc = self._packet_queue(paho.PUBLISH, b"".join(parts), 0, 1, None)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise ConnectionError(paho.error_string(rc))
        return mids

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> MQTTErrorCode:
        # paho's own runs only for ids it published itself; ours are answered here, from the
        # packet's bytes: packet id, then (MQTT 5, when not 0) the reason code.
        if cmd == _PUBACK and self._bulk_in_flight:
            body = self._in_packet["packet"]
            mid = int.from_bytes(body[:2], "big")
            if mid in self._bulk_in_flight:
                self._bulk_in_flight.discard(mid)
                handler = self.on_bulk_puback
                if handler is not None:
                    handler(mid, body[2] if len(body) > 2 else 0)
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._handle_pubackcomp(cmd)
