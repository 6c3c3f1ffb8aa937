"""A paho-mqtt 2 client driven by the asyncio event loop (no network thread).

aiomqtt does the same but does not expose paho's manual acks, which the journal-before-ack
guarantee needs, nor the per-message PUBACK callback the outbox needs; so the hub drives
paho's documented external-loop API (`loop_read`, `loop_write`, `loop_misc` and the
socket callbacks) itself. Everything runs on the loop thread, so the journal, the acks and
the publishes never contend for the GIL with a paho thread.

A `MqttLink` is one connection: it is created, connected, used and closed; the caller owns
the retry loop (as aiomqtt's callers do) and makes a new link for each attempt, so no
paho-internal retry state ever survives a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.errors import LinkError
from edge.mqttsend import BulkPublishClient, Publish
from edge.tlsfiles import TlsFiles, context_error, explain_failure

log = logging.getLogger(__name__)

MessageCallback = Callable[[paho.MQTTMessage], None]

# MQTT's own bounds: a topic is at most 65,535 bytes, a packet at most 268,435,455.
MAX_TOPIC_BYTES = 65535
MAX_PACKET = 268_435_455


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        return cls(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls)


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    retain: bool = True
    qos: int = 1


@dataclass(frozen=True, slots=True)
class LinkOptions:
    url: str
    client_id: str
    mqtt5: bool = True
    clean: bool = True  # False: persistent session (hall side keeps its QoS 1 queue)
    session_expiry_s: int = 7 * 24 * 3600  # MQTT 5 persistent session lifetime
    keepalive_s: int = 30
    username: str | None = None
    password: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    will: Will | None = None
    manual_ack: bool = False
    receive_maximum: int = (
        1000  # MQTT 5: how many QoS 1 messages the broker may have in flight to us
    )


class _BufferedClient(BulkPublishClient):
    """paho reads each packet with three or more small recv() calls (type byte, length
    bytes, body); serving them from one 64 KiB read turns ~4 syscalls per message into a
    fraction of one. `_sock_recv` is paho's single read funnel."""

    _rbuf: bytes = b""
    _rpos: int = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rpos >= len(self._rbuf):
            data = super()._sock_recv(65536)  # BlockingIOError when the socket is empty
            if not data:
                return b""  # end of stream
            self._rbuf, self._rpos = data, 0
        out = self._rbuf[self._rpos : self._rpos + bufsize]
        self._rpos += len(out)
        return out

    def buffered(self) -> int:
        return len(self._rbuf) - self._rpos


class MqttLink:
    """One MQTT connection whose network I/O runs on the asyncio loop."""

    def __init__(
        self,
        options: LinkOptions,
        on_message: MessageCallback | None = None,
        on_publish: Callable[[int, int], None] | None = None,
    ) -> None:
        self.options = options
        self.address = BrokerAddress.parse(options.url)
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        protocol = MQTTProtocolVersion.MQTTv5 if options.mqtt5 else MQTTProtocolVersion.MQTTv311
        self.client = _BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            clean_session=None if options.mqtt5 else options.clean,
            protocol=protocol,
            reconnect_on_failure=False,
            manual_ack=options.manual_ack,
        )
        # paho keeps its own queue of unsent QoS>0 messages; our limit is the outbox window.
        # 0 = unlimited, which is also the O(1) path of paho's in-flight bookkeeping (a finite
        # limit makes every PUBACK scan the whole outgoing queue).
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        if options.username is not None:
            self.client.username_pw_set(options.username, options.password)
        if options.will is not None:
            w = options.will
            self.client.will_set(w.topic, w.payload, qos=w.qos, retain=w.retain)
        self.client.on_socket_open = self._on_socket_open
        self.client.on_socket_close = self._on_socket_close
        self.client.on_socket_register_write = self._on_register_write
        self.client.on_socket_unregister_write = self._on_unregister_write
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self._subacks: dict[int, asyncio.Future[list[int]]] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        if on_message is not None:
            self.client.on_message = lambda _c, _u, msg: self._deliver(on_message, msg)
        if on_publish is not None:
            self.client.on_publish = lambda _c, _u, mid, rc, _p: on_publish(
                mid, rc.value if rc is not None else 0
            )
            self.client.on_bulk_puback = on_publish
        self._connected: asyncio.Future[bool] = self._loop.create_future()
        self.closed: asyncio.Future[str] = self._loop.create_future()
        self._sock: Any = None
        self._paused = False
        self.server_receive_maximum = 65535
        self.server_max_packet = MAX_PACKET
        self._misc: asyncio.Task[None] | None = None
        self.session_present = False
        # The last error paho logged while connecting: a broker that refuses our client
        # certificate after a TLS 1.3 handshake shows only there (as a failed read).
        self._connect_error = ""

    def _deliver(self, on_message: MessageCallback, msg: paho.MQTTMessage) -> None:
        # An exception must never reach paho: it would keep the packet and hand it to us
        # again on the next read, for ever (the hall link froze that way). The callers turn
        # their own failures into dead letters; this is the last net.
        try:
            on_message(msg)
        except Exception:
            self.callback_errors += 1
            if self.callback_errors <= 10 or self.callback_errors % 1000 == 0:
                log.exception("%s: message handler failed", self.options.url)

    callback_errors = 0

    # -- socket callbacks: may run on the executor thread during connect() ------------------
    def _in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _on_socket_open(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._sock = sock
        # Small messages must not wait for Nagle: latency is part of the contract.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._in_loop(self._loop.add_reader, sock, self._read)

    def _on_socket_close(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._in_loop(self._remove_fd, sock)

    def _remove_fd(self, sock: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)

    def _on_register_write(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._in_loop(self._add_writer, sock)

    def _add_writer(self, sock: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.add_writer(sock, self._write)

    def _on_unregister_write(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._in_loop(self._remove_writer, sock)

    def _remove_writer(self, sock: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_writer(sock)

    def _read(self) -> None:
        # paho's loop_read() handles one QoS 1 packet per call (it sizes its batch by the
        # QoS 2 queue), which costs a trip round the event loop per message; reading until
        # the socket is drained keeps a burst in one callback.
        client = self.client
        read_packet = client._packet_read
        for _ in range(512):
            if self._paused:
                return
            if client.socket() is None:
                self._lost("socket closed")
                return
            rc = read_packet()
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                client._loop_rc_handle(rc)
                self._lost(f"read: {paho.error_string(rc)}")
                return
        if client.buffered() and not self._paused:
            # Bytes already read from the socket will not wake the selector again.
            self._loop.call_soon(self._read)

    def _write(self) -> None:
        rc = self.client.loop_write()
        if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
            self._lost(f"write: {paho.error_string(rc)}")

    # -- protocol callbacks ---------------------------------------------------------------
    def _on_connect(self, _c: paho.Client, _u: Any, flags: Any, rc: ReasonCode, props: Any) -> None:
        if self._connected.done():
            return
        # MQTT 5: how many QoS 1 messages the broker takes in flight from us (absent: 65535).
        self.server_receive_maximum = int(getattr(props, "ReceiveMaximum", 65535) or 65535)
        # MQTT 5: the largest packet the broker takes (absent: the protocol's own limit).
        self.server_max_packet = int(getattr(props, "MaximumPacketSize", 0) or MAX_PACKET)
        if rc.is_failure:
            self._connected.set_exception(LinkError(f"{self.options.url}: refused: {rc}"))
        else:
            self.session_present = bool(getattr(flags, "session_present", False))
            self._connected.set_result(self.session_present)

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self._lost(f"disconnected: {rc}")

    def _lost(self, reason: str) -> None:
        if not self._connected.done():
            self._connected.set_exception(LinkError(f"{self.options.url}: {reason}"))
        if not self.closed.done():
            self.closed.set_result(reason)
        if self._sock is not None:
            self._remove_fd(self._sock)

    async def _misc_loop(self) -> None:
        while not self.closed.done():
            await asyncio.sleep(1.0)
            rc = self.client.loop_misc()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._lost(f"keepalive: {paho.error_string(rc)}")

    # -- public --------------------------------------------------------------------------
    def _tls_files(self) -> TlsFiles:
        o = self.options
        return TlsFiles(o.ca, o.cert, o.key)

    def _set_tls(self) -> None:
        """The TLS context, built per connect so a renewed certificate is picked up."""
        o = self.options
        try:
            ctx = ssl.create_default_context(cafile=o.ca)
            if o.cert:
                ctx.load_cert_chain(o.cert, o.key)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise LinkError(f"{o.url}: {context_error(exc, self._tls_files())}") from None
        self.client.tls_set_context(ctx)

    def _on_log(self, _c: paho.Client, _u: Any, level: int, buf: str) -> None:
        if level == paho.MQTT_LOG_ERR:
            self._connect_error = buf

    def _failed(self, reason: str) -> LinkError:
        """The connect failure as one line; on TLS links, explained (which file, why)."""
        if self._connect_error and self._connect_error not in reason:
            reason = f"{reason}: {self._connect_error}"
        if self.address.tls:
            reason = explain_failure(reason, self.address.host, self._tls_files())
        return LinkError(f"{self.options.url}: {reason}")

    async def connect(self, timeout: float = 10.0) -> bool:
        """Connect and wait for CONNACK; returns whether the broker kept a session."""
        o = self.options
        if self.address.tls:
            self._set_tls()
        # Only while connecting: paho formats a debug line per packet for `on_log`.
        self.client.on_log = self._on_log
        props: Properties | None = None
        clean: bool | Literal[3] = paho.MQTT_CLEAN_START_FIRST_ONLY
        if o.mqtt5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.ReceiveMaximum = o.receive_maximum
            if not o.clean:
                props.SessionExpiryInterval = o.session_expiry_s
            clean = o.clean
        try:
            await asyncio.wait_for(
                self._loop.run_in_executor(
                    None,
                    lambda: self.client.connect(
                        self.address.host,
                        self.address.port,
                        keepalive=o.keepalive_s,
                        clean_start=clean,
                        properties=props,
                    ),
                ),
                timeout,
            )
            self._misc = self._loop.create_task(self._misc_loop())
            return await asyncio.wait_for(asyncio.shield(self._connected), timeout)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            self.abort()
            raise self._failed(f"cannot connect: {str(exc) or type(exc).__name__}") from None
        except LinkError as exc:
            self.abort()
            prefix = f"{o.url}: "
            text = str(exc)
            raise self._failed(text[len(prefix) :] if text.startswith(prefix) else text) from None
        finally:
            self.client.on_log = None

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> int:
        self.client.skip_bulk_mids()  # edge/mqttsend.py: no id shared with a bulk publish
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_QUEUE_SIZE):
            if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
                self._lost("publish on a closed connection")
            raise LinkError(f"{self.options.url}: publish failed: {paho.error_string(info.rc)}")
        return int(info.mid)

    def publish_bulk(self, publishes: Sequence[Publish]) -> list[int]:
        """QoS 1 publishes as one write (edge/mqttsend.py); PUBACKs go to `on_publish`."""
        try:
            return self.client.publish_bulk(publishes)
        except ConnectionError:
            self._lost("publish on a closed connection")
            raise LinkError(f"{self.options.url}: publish failed: not connected") from None

    def subscribe(self, topics: list[tuple[str, int]], grant_within_s: float | None = None) -> None:
        """Subscribe; with `grant_within_s`, a broker that has not granted every filter by
        then (no SUBACK, or a refusal) gets its connection dropped, so the caller's retry
        loop connects again: a subscription that never comes would leave it deaf for good
        (a RabbitMQ node taking over a client id from a dead node was seen to do that)."""
        if not topics:
            return
        _rc, mid = self.client.subscribe(topics)
        if grant_within_s is None or mid is None:
            return  # (no mid: not connected, and the link is closing anyway)
        fut: asyncio.Future[list[int]] = self._loop.create_future()
        self._subacks[mid] = fut
        task = self._loop.create_task(
            self._await_grant(fut, [t for t, _q in topics], grant_within_s)
        )
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _await_grant(
        self, fut: asyncio.Future[list[int]], topics: list[str], within_s: float
    ) -> None:
        try:
            codes: list[int] | None = await asyncio.wait_for(fut, within_s)
        except TimeoutError:
            codes = None
        if self.closed.done():
            return
        if codes is None:
            log.warning(
                "%s: no SUBACK for %s in %.0f s; reconnecting", self.options.url, topics, within_s
            )
            self._lost("subscription not granted")
            self.abort()
        elif any(code >= 0x80 for code in codes):
            log.warning("%s: the broker refused %s; reconnecting", self.options.url, topics)
            self._lost("subscription refused")
            self.abort()

    def _on_subscribe(self, _c: paho.Client, _u: Any, mid: int, codes: Any, _p: Any) -> None:
        fut = self._subacks.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result([int(getattr(c, "value", c)) for c in codes])

    def ack(self, mid: int, qos: int) -> None:
        self.client.ack(mid, qos)

    def pause_reading(self) -> bool:
        """Stop reading (back-pressure): unread messages stay with the broker, not in our RAM.

        True if this call paused it (False: already paused or closed)."""
        if self._sock is None or self._paused:
            return False
        self._paused = True
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._sock)
        return True

    def resume_reading(self) -> None:
        if self._sock is not None and self._paused and not self.closed.done():
            self._paused = False
            self._loop.add_reader(self._sock, self._read)
            self._loop.call_soon(self._read)  # bytes may already wait in our buffer

    @property
    def is_open(self) -> bool:
        return not self.closed.done()

    async def close(self) -> None:
        """Disconnect cleanly (no last will)."""
        if not self.closed.done():
            with contextlib.suppress(Exception):
                self.client.disconnect()
                if self._sock is not None and self.client.want_write():
                    self.client.loop_write()
        self.abort()

    def abort(self) -> None:
        """Drop the connection without a DISCONNECT packet (the broker sends our will)."""
        if self._misc is not None:
            self._misc.cancel()
        if self._sock is not None:
            self._remove_fd(self._sock)
        with contextlib.suppress(Exception):
            sock = self.client.socket()
            if sock is not None:
                sock.close()
        if not self.closed.done():
            self.closed.set_result("closed")
        if not self._connected.done():
            self._connected.cancel()
