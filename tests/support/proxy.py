"""A loopback TCP proxy in front of a broker that can go silent towards the client.

`stall()` makes every connection open at that moment swallow what the broker sends (the
PUBACKs, the PINGRESPs) while the client's bytes still reach the broker: a cloud broker
that accepted the connection and takes the messages but never acknowledges them. New
connections made afterwards flow normally, as they would through a healthy load balancer
node, so a client that notices and reconnects gets through. `stall_next(k)` makes the next
k connections silent from their first byte: the TCP connection is accepted, CONNACK never
comes. `throttle(bytes_per_s)` makes the link towards the broker slow (a thin uplink).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from dataclasses import dataclass


@dataclass(eq=False)
class _Pair:
    client: socket.socket
    upstream: socket.socket
    stalled: bool = False
    closed: bool = False


class StallProxy:
    """127.0.0.1:`port` -> 127.0.0.1:`target_port`, one thread for every connection."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.setblocking(False)
        self.port = int(self._listener.getsockname()[1])
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ, None)
        self._pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._stop = False
        self._silent_next = 0
        self._rate: float | None = None  # bytes/s towards the broker, None: as fast as it goes
        self.connections = 0  # accepted so far
        self.swallowed = 0  # bytes from the broker that never reached a stalled client
        self._thread = threading.Thread(target=self._serve, name="stall-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stall(self) -> int:
        """Silence the broker on every open connection; returns how many were stalled."""
        with self._lock:
            live = [p for p in self._pairs if not p.closed]
            for p in live:
                p.stalled = True
        return len(live)

    def throttle(self, bytes_per_s: float | None) -> None:
        """Limit what reaches the broker to `bytes_per_s` (None lifts the limit)."""
        self._rate = bytes_per_s

    def stall_next(self, count: int = 1) -> None:
        """The next `count` connections get nothing back from the broker, not even CONNACK."""
        with self._lock:
            self._silent_next = count

    def wait_connections(self, more_than: int, timeout: float) -> None:
        """Until more than `more_than` connections were accepted (the client reconnected)."""
        deadline = time.monotonic() + timeout
        while self.connections <= more_than:
            if time.monotonic() > deadline:
                raise AssertionError(f"no new connection in {timeout:.0f} s")
            time.sleep(0.02)

    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for p in self._pairs if not p.closed)

    def _serve(self) -> None:
        while not self._stop:
            for key, _ in self._sel.select(0.2):
                if key.data is None:
                    self._accept()
                    continue
                pair, from_client = key.data
                self._pump(pair, from_client)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            client.close()  # the broker is down: so is the proxy, as a client would see it
            return
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(5)  # a send to a peer that stopped reading must not hang the proxy
        pair = _Pair(client, upstream)
        with self._lock:
            if self._silent_next > 0:
                self._silent_next -= 1
                pair.stalled = True
            self._pairs.append(pair)
            self.connections += 1
        self._sel.register(client, selectors.EVENT_READ, (pair, True))
        self._sel.register(upstream, selectors.EVENT_READ, (pair, False))

    def _pump(self, pair: _Pair, from_client: bool) -> None:
        src, dst = (pair.client, pair.upstream) if from_client else (pair.upstream, pair.client)
        rate = self._rate if from_client else None
        try:
            data = src.recv(65536 if rate is None else 2048)
        except OSError:
            data = b""
        if not data:
            self._close(pair)
            return
        if not from_client and pair.stalled:
            self.swallowed += len(data)
            return
        try:
            dst.sendall(data)
        except OSError:
            self._close(pair)
            return
        if rate is not None:
            # One connection at a time goes through a throttled proxy: sleeping here is
            # the simplest token bucket (the client's bytes wait in its socket buffer).
            time.sleep(len(data) / rate)

    def _close(self, pair: _Pair) -> None:
        if pair.closed:
            return
        with self._lock:
            pair.closed = True
        for s in (pair.client, pair.upstream):
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(s)
            with contextlib.suppress(OSError):
                s.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        with self._lock:
            pairs = list(self._pairs)
        for p in pairs:
            self._close(p)
        self._sel.close()
        self._listener.close()
