"""The device side of a simulated serial line: a pty pair, or an existing tty (a socat link).

A `PtyLink` is a virtual serial cable: the simulator holds the master end, the hub opens the
slave path (/dev/pts/N) exactly as it would open /dev/ttyUSB0. Optionally a symlink (a
stand-in for /dev/serial/by-id/...) points at the slave; `unplug()` closes the pair and
removes the link, like pulling the USB adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from pathlib import Path

import serial


class FdPort:
    """Async byte I/O on a file descriptor (a pty master or an opened tty)."""

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name
        os.set_blocking(fd, False)
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._pending = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    def _ensure_loop(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._stop_reading()
        self._chunks.put_nowait(data)

    def _stop_reading(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self.fd)

    async def read(self) -> bytes:
        """The next bytes from the hub; b"" when the line is gone."""
        self._ensure_loop()
        return await self._chunks.get()

    def write(self, data: bytes) -> None:
        """Send bytes to the hub (buffered when the pty is full)."""
        if self.closed:
            return
        self._ensure_loop()
        self._pending += data
        self._flush()

    def _flush(self) -> None:
        assert self._loop is not None
        while self._pending:
            try:
                n = os.write(self.fd, self._pending)
            except BlockingIOError:
                self._loop.add_writer(self.fd, self._writable)
                return
            except OSError:
                self._pending.clear()
                return
            del self._pending[:n]

    def _writable(self) -> None:
        assert self._loop is not None
        self._loop.remove_writer(self.fd)
        self._flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop_reading()
        if self._loop is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_writer(self.fd)
        self._chunks.put_nowait(b"")


class PtyLink:
    """A pty pair: `port` for the simulator, `path` (and `link`) for the hub."""

    def __init__(self, link: str | Path | None = None) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: the bytes go through unchanged
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        self.link = Path(link) if link is not None else None
        if self.link is not None:
            self.link.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self.path)
        self.port = FdPort(master, self.path)

    @property
    def hub_path(self) -> str:
        """What the hub's config names: the link if there is one, else /dev/pts/N."""
        return str(self.link) if self.link is not None else self.path

    def unplug(self) -> None:
        """Pull the cable: the hub's reads fail and the path (and link) disappear."""
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
        self.port.close()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1

    close = unplug


class TtyPort(FdPort):
    """An existing serial device or one end of a socat link, opened with pyserial."""

    def __init__(self, path: str, baudrate: int = 9600, parity: str = "N") -> None:
        self.serial = serial.Serial(path, baudrate=baudrate, parity=parity, timeout=0)
        super().__init__(self.serial.fileno(), path)

    def close(self) -> None:
        super().close()
        self.serial.close()


def open_port(
    path: str | None, baudrate: int = 9600, parity: str = "N"
) -> tuple[FdPort, PtyLink | None, str]:
    """The simulator's end of a line: an existing tty at `path`, else a new pty pair.

    When `path` does not exist a pty pair is made and `path` (if given) becomes a symlink
    to its slave. Returns the port, the pty pair if one was made, and what the hub opens.
    """
    if path is not None and os.path.exists(path):
        return TtyPort(path, baudrate, parity), None, path
    link = PtyLink(path)
    return link.port, link, link.hub_path
