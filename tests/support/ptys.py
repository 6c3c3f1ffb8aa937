"""A serial queue ticket machine (firmware-configs/ticket-machine-serial.yaml) at the device
end of a virtual cable that a test can pull out and plug back in.

The cable is a pty pair: the hub opens the slave through a symlink standing in for
/dev/serial/by-id/..., which `unplug()` removes while closing the pair (the hub's reads
fail at once, as with a pulled USB adapter) and `plug()` recreates over a new pair (another
/dev/pts/N, as a replugged adapter gets another ttyUSBn). The machine keeps a few requests
in flight and resends each one every `retry_s` until the hub acknowledges it, as the
firmware does; it runs on its own thread so tests stay plain functions.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections import deque
from pathlib import Path


class TicketLine:
    """REQ lines out, ACK lines in; garbage lines on demand for the dead-letter tests."""

    def __init__(
        self, link: Path, machine: str = "K1", window: int = 8, retry_s: float = 1.0
    ) -> None:
        self.link = link
        self.machine = machine
        self.window = window
        self.retry_s = retry_s
        self.lock = threading.Lock()
        self.acked: set[str] = set()
        self.sends = 0  # REQ lines written, resends included
        self.resends = 0
        self.plugs = 0
        # Lines still to send: (request id, line) for requests, (None, line) for garbage.
        self._queue: deque[tuple[str | None, bytes]] = deque()
        self._outstanding: dict[str, tuple[bytes, float]] = {}  # request id -> (line, last sent)
        self._master = self._slave = -1
        self._out = bytearray()
        self._in = bytearray()
        self._stop = False
        self._next = 0
        self.plug()
        self._thread = threading.Thread(
            target=self._run, name=f"ticket-line {machine}", daemon=True
        )
        self._thread.start()

    # -- the cable -------------------------------------------------------------------------
    def plug(self) -> None:
        """A new pty pair behind the same link path."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo and no CR/LF translation on the hub's side
        os.set_blocking(master, False)
        self.link.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        self.link.symlink_to(os.ttyname(slave))
        with self.lock:
            self._master, self._slave = master, slave
            self._out.clear()
            self._in.clear()
            # What was in flight went nowhere or its ACK was lost with the cable: resend now.
            due = time.monotonic() - self.retry_s
            self._outstanding = {k: (line, due) for k, (line, _t) in self._outstanding.items()}
            self.plugs += 1

    def unplug(self) -> None:
        """Pull the adapter: the link disappears and the hub's end of the pair hangs up."""
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        with self.lock:
            for fd in (self._master, self._slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._master = self._slave = -1

    # -- what the machine does -------------------------------------------------------------
    def request(self, count: int) -> list[str]:
        """Queue `count` ticket requests; returns their request ids."""
        ids = []
        with self.lock:
            for _ in range(count):
                self._next += 1
                rid = f"{self.machine}-{self._next:06d}"
                self._queue.append((rid, f"REQ,{rid},01,0\r\n".encode()))
                ids.append(rid)
        return ids

    def garbage(self, lines: list[bytes]) -> None:
        """Queue raw lines (each gets CRLF) that the hub cannot turn into events."""
        with self.lock:
            self._queue.extend((None, line + b"\r\n") for line in lines)

    def wait_acked(self, count: int, timeout: float) -> None:
        """Until the hub acknowledged `count` requests."""
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.acked)}/{count} requests acknowledged")
            time.sleep(0.02)

    def settled(self) -> bool:
        with self.lock:
            return not self._queue and not self._outstanding and not self._out

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        self.unplug()

    # -- the firmware loop -----------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop:
            with self.lock:
                fd = self._master
            if fd < 0:
                time.sleep(0.02)
                continue
            try:
                ready, _, _ = select.select([fd], [], [], 0.01)
            except (OSError, ValueError):
                continue
            with self.lock:
                if fd != self._master:
                    continue  # unplugged (or replugged) meanwhile
                try:
                    if ready:
                        self._read(fd)
                    self._feed(time.monotonic())
                    self._flush(fd)
                except OSError:
                    continue  # the hub's end is not open yet, or just closed

    def _read(self, fd: int) -> None:
        with contextlib.suppress(BlockingIOError):
            self._in += os.read(fd, 65536)
        *lines, rest = bytes(self._in).split(b"\r\n")
        self._in = bytearray(rest)
        for line in lines:
            if line.startswith(b"ACK,"):
                rid = line[4:].decode()
                self._outstanding.pop(rid, None)
                self.acked.add(rid)

    def _feed(self, now: float) -> None:
        for key, (line, sent) in list(self._outstanding.items()):  # resends first
            if now - sent >= self.retry_s:
                self._out += line
                self._outstanding[key] = (line, now)
                self.sends += 1
                self.resends += 1
        while self._queue and len(self._outstanding) < self.window:
            rid, line = self._queue.popleft()
            self._out += line
            if rid is not None:
                self._outstanding[rid] = (line, now)
                self.sends += 1

    def _flush(self, fd: int) -> None:
        while self._out:
            try:
                n = os.write(fd, self._out)
            except BlockingIOError:
                return
            del self._out[:n]
