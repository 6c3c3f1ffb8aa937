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
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.errors import LinkError
from edge.mqttsend import BulkPublishClient, Publish
from edge.tlsfiles import TlsFiles, context_error, explain_failure

if TYPE_CHECKING:
    from paho.mqtt.client import _OutPacket

log = logging.getLogger(__name__)

MessageCallback = Callable[[paho.MQTTMessage], None]
# A PUBLISH read by the link itself (MQTT 3.1.1): topic bytes, payload, QoS, packet id.
RawCallback = Callable[[bytes, bytes, int, int], None]

# What `_take_packets` stopped at.
_NEED_BYTES, _FOR_PAHO, _PAUSED, _MALFORMED = range(4)
# Several packets queued as one write: a command paho's writer has no after-step for.
_SEVERAL = 0
_MERGE_MAX = 1000  # packets in one write

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


_PUBACK = struct.Struct(">BBH")
_U16 = struct.Struct(">H")
_HEAD2 = struct.Struct(">BB")
_HEAD3 = struct.Struct(">BBB")


def _fixed_header(buf: bytes, pos: int, end: int) -> int:
    """Where the packet at `pos` has its body and where it ends, as body << 32 | end;
    0 if the buffer does not hold all of it yet, -1 if its length is malformed."""
    i, length, shift = pos + 1, 0, 0
    while True:  # the remaining length: 1 to 4 bytes of 7 bits
        if i >= end:
            return 0
        byte = buf[i]
        i += 1
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 21:
            return -1
    return 0 if i + length > end else i << 32 | (i + length)


def _append_header(out: bytearray, first: int, length: int) -> None:
    """An MQTT fixed header: the first byte, then the remaining length, 7 bits a byte."""
    out.append(first)
    while True:
        byte, length = length & 0x7F, length >> 7
        if length:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


class _BufferedClient(BulkPublishClient):
    """paho reads each packet with three or more small recv() calls (type byte, length
    bytes, body); serving them from one 64 KiB read turns ~4 syscalls per message into a
    fraction of one. `_sock_recv` is paho's single read funnel; `fill` is the link's own
    read, for the packets it parses itself (`MqttLink._take_packets`)."""

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

    def _packet_write(self) -> MQTTErrorCode:
        # paho sends each queued packet with a send() of its own: a batch's publishes cost
        # one syscall each. Packets that need nothing after their write go out as one.
        if len(self._out_packet) > 1:
            self._merge_queued()
        return super()._packet_write()

    def _merge_queued(self) -> None:
        queue = self._out_packet
        n = 0
        for packet in queue:
            command = packet["command"] & 0xF0
            # QoS 0 PUBLISH (paho marks its info published) and DISCONNECT have after-steps.
            if (command == PacketTypes.PUBLISH << 4 and packet["qos"] == 0) or (
                command == PacketTypes.DISCONNECT << 4
            ):
                break
            n += 1
            if n == _MERGE_MAX:
                break
        if n < 2:
            return
        head = queue.popleft()
        parts = [head["packet"][head["pos"] :]]
        parts += [queue.popleft()["packet"] for _ in range(n - 1)]
        data = b"".join(parts)
        merged: _OutPacket = {
            "command": _SEVERAL,
            "mid": 0,
            "qos": 0,
            "pos": 0,
            "to_process": len(data),
            "packet": data,
            "info": None,
        }
        queue.appendleft(merged)

    def fill(self) -> bool:
        """One read appended to what is left unparsed; False if the socket had nothing.

        Raises OSError, and ConnectionResetError at the end of the stream."""
        try:
            data = super()._sock_recv(65536)
        except BlockingIOError:
            return False
        if not data:
            raise ConnectionResetError("end of stream")
        left = self._rbuf[self._rpos :] if self._rpos < len(self._rbuf) else b""  # a part packet
        self._rbuf, self._rpos = (left + data if left else data), 0
        self._last_bytes_received = time.monotonic()  # paho's keep-alive clock
        return True


class MqttLink:
    """One MQTT connection whose network I/O runs on the asyncio loop."""

    def __init__(
        self,
        options: LinkOptions,
        on_message: MessageCallback | None = None,
        on_publish: Callable[[int, int], None] | None = None,
        on_raw: RawCallback | None = None,
    ) -> None:
        """`on_raw`: QoS 0/1 PUBLISH packets are parsed here straight from the read buffer
        and handed over as bytes (no MQTTMessage, no paho call per message), and QoS 1
        acknowledgements are sent in one write per loop turn; MQTT 3.1.1 links only."""
        if on_raw is not None and options.mqtt5:
            raise ValueError("on_raw reads MQTT 3.1.1 PUBLISH packets only")
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
        self._subacks: dict[int, asyncio.Future[list[int]]] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        self._on_raw = on_raw
        self._on_puback = on_publish
        self._awaiting: set[int] = set()  # QoS 1 publishes of ours without a PUBACK yet
        self._acks = bytearray()
        self._acks_due = False
        self._write_due = False
        self._set_callbacks(on_message, on_publish, on_raw)
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

    def _set_callbacks(
        self,
        on_message: MessageCallback | None,
        on_publish: Callable[[int, int], None] | None,
        on_raw: RawCallback | None,
    ) -> None:
        c = self.client
        c.on_socket_open = self._on_socket_open
        c.on_socket_close = self._on_socket_close
        c.on_socket_register_write = self._on_register_write
        c.on_socket_unregister_write = self._on_unregister_write
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        if on_raw is not None:
            # QoS 2 is still paho's (PUBREC/PUBREL); its messages arrive here in the end.
            c.on_message = lambda _c, _u, msg: self._deliver_raw(
                on_raw, msg._topic, bytes(msg.payload), msg.qos, msg.mid
            )
        elif on_message is not None:
            c.on_message = lambda _c, _u, msg: self._deliver(on_message, msg)
        if on_publish is not None:
            c.on_publish = lambda _c, _u, mid, rc, _p: on_publish(
                mid, rc.value if rc is not None else 0
            )
            c.on_bulk_puback = on_publish  # a bulk publish's PUBACK read by paho

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

    def _deliver_raw(
        self, on_raw: RawCallback, topic: bytes, payload: bytes, qos: int, mid: int
    ) -> None:
        try:  # as `_deliver`: a handler's failure costs one message, never the link
            on_raw(topic, payload, qos, mid)
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
        # Until the CONNACK, through epoll as paho expects: a TLS broker that refuses the
        # client after the handshake sends an alert and closes; writing CONNECT before that
        # alert is read drew a reset that threw the alert away, and with it the reason
        # (tests/tls/test_cloud_tls.py). epoll reports the socket readable first.
        if self._connected.done():
            self._in_loop(self._write_soon, sock)
        else:
            self._in_loop(self._add_writer, sock)

    def _write_soon(self, sock: Any) -> None:
        # What is queued in this loop turn goes out at its end, in one send, without asking
        # epoll first: registering a writer for every packet cost two epoll_ctl calls and a
        # wake-up per write (about 8 % of the hub's time at 1,000 events/s, py-spy). A
        # writer is registered only when the socket's buffer is full.
        if not self._write_due:
            self._write_due = True
            self._loop.call_soon(self._write_queued, sock)

    def _write_queued(self, sock: Any) -> None:
        self._write_due = False
        if self.client._sock is not sock:
            return  # the connection closed (or reconnected) meanwhile
        self._write()
        if self.client.want_write():
            self._add_writer(sock)  # the rest when the socket can take it

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
        for _ in range(512):
            if self._paused:
                return
            if client.socket() is None:
                self._lost("socket closed")
                return
            lost = self._raw_step()
            if lost == "":
                return  # the socket is drained
            if lost is not None:
                self._lost(lost)
                return
        if client.buffered() and not self._paused:
            # Bytes already read from the socket will not wake the selector again.
            self._loop.call_soon(self._read)

    def _paho_step(self) -> str | None:
        """One packet read by paho: None to go on, "" when drained, else why it failed."""
        rc = self.client._packet_read()
        if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
            return ""
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self.client._loop_rc_handle(rc)
            return f"read: {paho.error_string(rc)}"
        return None

    def _raw_step(self) -> str | None:
        """The packets in the buffer this link reads itself (`_take_packets`), then one
        packet of another kind by paho (whole in the buffer, so paho never waits inside
        it), or one more read."""
        client = self.client
        if client._in_packet["command"] == 0:
            stop = self._take_packets()
            if stop == _PAUSED:
                return None  # `_read` sees the pause
            if stop == _MALFORMED:
                return "read: malformed packet"
            if stop == _NEED_BYTES:
                try:
                    return None if client.fill() else ""
                except OSError as exc:
                    return f"read: {exc or type(exc).__name__}"
        return self._paho_step()

    def _take_packets(self) -> int:
        """Handle the whole packets at the head of the buffer that need no paho: QoS 0/1
        PUBLISH (with `on_raw`; MQTT 3.1.1: topic, packet id, payload) and PUBACK (with
        `on_publish`); what stopped it is returned."""
        client = self.client
        buf = client._rbuf
        end = len(buf)
        pos = client._rpos
        while pos < end:
            head = _fixed_header(buf, pos, end)
            if head < 0:
                return _MALFORMED
            if head == 0:
                return _NEED_BYTES
            i, stop = head >> 32, head & 0xFFFFFFFF
            first = buf[pos]
            if first == 0x40 and stop - i >= 2:
                mid = buf[i] << 8 | buf[i + 1]
                # MQTT 5: a reason code may follow (absent: success); properties are unused.
                self._puback(mid, buf[i + 2] if stop - i > 2 else 0)
                pos = client._rpos = stop
                continue
            qos = (first >> 1) & 3
            if first & 0xF0 != 0x30 or qos == 2 or self._on_raw is None:
                return _FOR_PAHO
            start = i + 2 + (buf[i] << 8 | buf[i + 1]) if stop - i >= 2 else stop + 1
            body = start + 2 if qos else start
            if body > stop or qos > 2:
                return _MALFORMED
            mid = buf[start] << 8 | buf[start + 1] if qos else 0
            pos = client._rpos = stop  # before the callback, which may pause the link
            self._deliver_raw(self._on_raw, buf[i + 2 : start], buf[body:stop], qos, mid)
            if self._paused:
                return _PAUSED
        return _NEED_BYTES

    def _puback(self, mid: int, reason: int) -> None:
        """What paho's PUBACK handling does, without its ReasonCode and Properties objects:
        the message leaves our books (or paho's, for what paho sent), then `on_publish`
        hears of it."""
        bulk = self.client._bulk_in_flight
        if mid in self._awaiting:
            self._awaiting.discard(mid)
        elif bulk and mid in bulk:
            bulk.discard(mid)  # a bulk publish's (edge/mqttsend.py)
        else:
            client = self.client
            msg = client._out_messages.pop(mid, None)
            if msg is None:
                return  # not ours, or acknowledged twice: paho ignores it too
            msg.info._set_as_published()
            if msg.qos > 0:
                client._inflight_messages -= 1
        if self._on_puback is None:
            return
        try:
            self._on_puback(mid, reason)
        except Exception:
            self.callback_errors += 1
            if self.callback_errors <= 10 or self.callback_errors % 1000 == 0:
                log.exception("%s: PUBACK handler failed", self.options.url)

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
        """Queue a PUBLISH; its packet id. QoS 1 without properties (every event the uplink
        sends) is built here: paho's publish made a message, an info with a condition
        variable and a Properties object per event, about a third of the hub's CPU."""
        if qos == 1 and properties is None:
            return self._publish_qos1(topic, payload, retain)
        self.client.skip_bulk_mids(self._awaiting)  # no id shared with one in flight
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_QUEUE_SIZE):
            if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
                self._lost("publish on a closed connection")
            raise LinkError(f"{self.options.url}: publish failed: {paho.error_string(info.rc)}")
        return int(info.mid)

    def _publish_qos1(self, topic: str, payload: bytes, retain: bool) -> int:
        client = self.client
        if client._sock is None or self.closed.done():
            self._lost("publish on a closed connection")
            raise LinkError(f"{self.options.url}: publish failed: the client is not connected")
        name = topic.encode()
        # paho's own checks, which the uplink counts on to park an event it can never send
        if not name or len(name) > MAX_TOPIC_BYTES:
            raise ValueError("Invalid topic.")
        if b"+" in name or b"#" in name:
            raise ValueError("Publish topic cannot contain wildcards.")
        props = b"\x00" if self.options.mqtt5 else b""  # MQTT 5: no properties
        length = 4 + len(name) + len(props) + len(payload)
        if length > MAX_PACKET:
            raise ValueError("Payload too large.")
        # paho's counter (shared with its subscribes), past every id still in flight:
        # ours, the bulk publishes' and paho's own.
        mid = client._free_mid(self._awaiting)
        if length < 16384:  # a 1- or 2-byte remaining length: every event of a hall
            head = (
                _HEAD2.pack(0x32 | retain, length)
                if length < 128
                else _HEAD3.pack(0x32 | retain, length & 0x7F | 0x80, length >> 7)
            )
        else:
            out = bytearray()
            _append_header(out, 0x32 | retain, length)
            head = bytes(out)
        packet = b"".join((head, _U16.pack(len(name)), name, _U16.pack(mid), props, payload))
        self._awaiting.add(mid)
        client._packet_queue(0x32, packet, mid, 1)
        return mid

    def publish_bulk(self, publishes: Sequence[Publish]) -> list[int]:
        """QoS 1 publishes as one write (edge/mqttsend.py); PUBACKs go to `on_publish`."""
        if self.closed.done():
            self._lost("publish on a closed connection")
            raise LinkError(f"{self.options.url}: publish failed: not connected")
        try:
            return self.client.publish_bulk(publishes, self._awaiting)
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
        if qos == 1 and self._on_raw is not None:
            # One write for every acknowledgement of this loop turn (a batch's, typically).
            self._acks += _PUBACK.pack(0x40, 2, mid)
            if not self._acks_due:
                self._acks_due = True
                self._loop.call_soon(self._flush_acks)
            return
        self.client.ack(mid, qos)

    def _flush_acks(self) -> None:
        self._acks_due = False
        packets, self._acks = bytes(self._acks), bytearray()
        if packets and self.is_open:
            # A connection that closed meanwhile gets none: the broker redelivers them.
            self.client._packet_queue(_SEVERAL, packets, 0, 0)

    def publish_qos0(self, messages: list[tuple[str, bytes]]) -> None:
        """QoS 0 PUBLISH packets built here and queued as one write (the hub's local copies
        of a batch: no MQTTMessageInfo, no paho call per message)."""
        if not messages or not self.is_open:
            return
        out = bytearray()
        for topic, payload in messages:
            name = topic.encode()
            _append_header(out, 0x30, 2 + len(name) + len(payload))
            out += len(name).to_bytes(2, "big")
            out += name
            out += payload
        self.client._packet_queue(_SEVERAL, bytes(out), 0, 0)

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
