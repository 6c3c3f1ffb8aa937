"""A TCP proxy on loopback whose link can be cut: every open connection is closed and new
ones are refused (accepted and closed at once) until the cut ends, after some seconds or
at `heal()`. A cloud broker's node lost, or PostgreSQL lost: the server itself (the
machine's PostgreSQL, say) is never touched. Here, not with the tests, because the fleet
benchmark cuts a real hub's cloud link with it too.

The tests' stalling proxy (tests/support/proxy.py) silences one direction instead.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time


class CutProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._cut_until = 0.0
        self._closed = False
        self.connections = 0  # passed through
        self.refused = 0  # closed at once, during a cut
        threading.Thread(target=self._accept, name="cut-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def cut(self, seconds: float = math.inf) -> None:
        """Close every connection now and refuse new ones for SECONDS (or until `heal`)."""
        with self._lock:
            self._cut_until = time.monotonic() + seconds
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def heal(self) -> None:
        with self._lock:
            self._cut_until = 0.0

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                cut = time.monotonic() < self._cut_until
            if cut:
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)  # an idle connection stays open
            self.connections += 1
            with self._lock:
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut(0)
