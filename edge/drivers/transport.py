"""Byte transports: an async serial port (pyserial-asyncio-fast) and a loopback pair for tests.

A transport only moves bytes. Every failure of the port is translated here into LinkError
with a message an installer can act on (missing port, port held by another program, no
permission, device unplugged).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import termios
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

import serial
import serial_asyncio_fast

from edge.drivers.profile_schema import SerialLink
from edge.errors import LinkError

__all__ = [
    "Connector",
    "LoopbackTransport",
    "SerialTransport",
    "Transport",
    "holders",
    "loopback_pair",
    "open_serial",
]


class Transport(Protocol):
    """Bytes in and out of one link."""

    name: str

    async def read(self) -> bytes:
        """The next bytes received; LinkError when the link is lost."""
        ...

    def write(self, data: bytes) -> None:
        """Queue bytes for sending; LinkError if the link is already lost."""
        ...

    def close(self) -> None: ...


Connector = Callable[[], Awaitable[Transport]]

_LOST = object()


class _Queue(asyncio.Protocol):
    """Turns pyserial-asyncio-fast's callbacks into a queue of received chunks."""

    def __init__(self) -> None:
        self.chunks: asyncio.Queue[bytes | BaseException | object] = asyncio.Queue()

    def data_received(self, data: bytes) -> None:
        self.chunks.put_nowait(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.chunks.put_nowait(exc if exc is not None else _LOST)


class SerialTransport:
    """An open serial port."""

    def __init__(self, name: str, transport: asyncio.Transport, protocol: _Queue) -> None:
        self.name = name
        self._transport = transport
        self._protocol = protocol
        self._lost: str | None = None

    async def read(self) -> bytes:
        if self._lost is not None:
            raise LinkError(self._lost)
        item = await self._protocol.chunks.get()
        if isinstance(item, bytes):
            return item
        # pyserial's own text ("device reports readiness to read but returned no data...")
        # says the same less clearly, so it is left out.
        self._lost = f"serial port {self.name} lost (unplugged?)"
        raise LinkError(self._lost)

    def write(self, data: bytes) -> None:
        if self._lost is not None or self._transport.is_closing():
            raise LinkError(self._lost or f"serial port {self.name} is closed")
        self._transport.write(data)

    def close(self) -> None:
        self._transport.close()


def holders(path: str) -> list[str]:
    """Processes that have `path` open, as "pid NAME" (best effort, from /proc)."""
    try:
        target = os.path.realpath(path)
    except OSError:
        return []
    found: list[str] = []
    me = os.getpid()
    for pid_dir in Path("/proc").glob("[0-9]*"):
        if int(pid_dir.name) == me:
            continue
        with contextlib.suppress(OSError):
            for fd in (pid_dir / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == target:
                        comm = (pid_dir / "comm").read_text().strip()
                        found.append(f"pid {pid_dir.name} {comm}")
                        break
    return found


def _open_error(path: str, exc: BaseException) -> LinkError:
    cause = exc.__context__ if isinstance(exc, serial.SerialException) else exc
    code = getattr(cause, "errno", None) or getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.ENOENT or "No such file" in text:
        return LinkError(f"serial port {path} is not there (unplugged, or a wrong path?)")
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return LinkError(
            f"serial port {path}: permission denied (add the hub's user to the dialout group)"
        )
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in text:
        who = holders(path)
        by = f" by {', '.join(who)}" if who else " by another program"
        return LinkError(
            f"serial port {path} is in use{by}; close that program or give this device another port"
        )
    return LinkError(f"serial port {path} could not be opened: {text}")


class _QuietSerialTransport(serial_asyncio_fast.SerialTransport):
    """pyserial-asyncio-fast reports a failed write (an unplugged adapter: EIO) to the loop's
    exception handler, which logs "Fatal write error" with a traceback at ERROR. The loss
    is no bug: it reaches the protocol (connection_lost) all the same, and the driver logs
    it once as a warning naming the device and the port, then reconnects."""

    def _fatal_error(
        self, exc: BaseException, message: str = "Fatal error on serial transport"
    ) -> None:
        self._abort(exc)


async def open_serial(path: str, link: SerialLink) -> SerialTransport:
    """Open `path` exclusively with the profile's port parameters; LinkError if it cannot."""
    loop = asyncio.get_running_loop()
    protocol = _Queue()
    try:
        port = await loop.run_in_executor(
            None,
            lambda: serial.serial_for_url(
                path,
                baudrate=link.baudrate,
                bytesize=link.bytesize,
                parity=link.parity,
                stopbits=link.stopbits,
                rtscts=link.rtscts,
                xonxoff=link.xonxoff,
                exclusive=True,
            ),
        )
        transport = _QuietSerialTransport(loop, protocol, port)
    except termios.error as exc:
        # Raised by tcsetattr for settings the port cannot take (a pty refuses even parity).
        raise LinkError(
            f"serial port {path} refused the line settings {link.baudrate} "
            f"{link.bytesize}{link.parity}{link.stopbits}: {exc.args[-1]}"
        ) from None
    except (serial.SerialException, OSError, ValueError) as exc:
        raise _open_error(path, exc) from None
    return SerialTransport(path, transport, protocol)


class LoopbackTransport:
    """One end of an in-memory link: what one end writes, the other reads."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.peer: LoopbackTransport | None = None
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._closed = False
        self.written: list[bytes] = []  # everything this end sent, for test assertions

    async def read(self) -> bytes:
        if self._closed:
            raise LinkError(f"{self.name} is closed")
        item = await self._inbox.get()
        if item is None:
            self._closed = True
            raise LinkError(f"{self.name} lost")
        return item

    def write(self, data: bytes) -> None:
        if self._closed or self.peer is None or self.peer._closed:
            raise LinkError(f"{self.name} is closed")
        self.written.append(bytes(data))
        self.peer._inbox.put_nowait(bytes(data))

    def close(self) -> None:
        """Close both directions: the peer's next read raises LinkError (an unplug)."""
        if not self._closed:
            self._closed = True
            self._inbox.put_nowait(None)
            if self.peer is not None and not self.peer._closed:
                self.peer._inbox.put_nowait(None)


def loopback_pair(name: str = "loopback") -> tuple[LoopbackTransport, LoopbackTransport]:
    """Two connected in-memory transports (hub side, device side)."""
    a, b = LoopbackTransport(f"{name}/a"), LoopbackTransport(f"{name}/b")
    a.peer, b.peer = b, a
    return a, b
