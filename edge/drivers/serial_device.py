"""The generic framed serial driver: one port, one framer, the endpoints of the devices on it.

`SerialLine` owns the port. It connects (through a connector that finds the port, opens it
exclusively and probes it), feeds what it reads to a fresh framer, dead-letters garbage,
hands each frame to the endpoint of its bus address (or to the only endpoint of a
point-to-point line), runs the endpoints' polls, and takes exchanges in turns. When the
port fails or is unplugged it detaches the endpoints (device.offline), then waits for the
port to come back and resumes, whatever tty number the port has by then.

`SerialDriver` is the per-device face the hub sees (the Driver protocol).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from edge.drivers.converters import Outgoing
from edge.drivers.endpoint import FramePredicate, LineIO, Presence
from edge.drivers.framing import Frame, Framer, Garbage, make_framer
from edge.drivers.port import HubPort
from edge.drivers.profile_schema import FramerSpec
from edge.drivers.transport import Connector, Transport
from edge.errors import LinkError
from edge.model import Command, Event, Reply

log = logging.getLogger(__name__)

# device.error for a line's framing errors: this many within the window, once per window.
FRAMING_ERRORS = 5
FRAMING_WINDOW_S = 60.0


class NoPortError(LinkError):
    """No port matching the device is present (unplugged): offline, not an error to count."""


class LineEndpoint(Protocol):
    """What a line needs of a device on it (Endpoint, PrinterEndpoint)."""

    device_id: str
    address: int | None
    presence: Presence

    def attach(self, line: LineIO) -> None: ...

    def detach(self, reason: str) -> None: ...

    def on_frame(self, frame: Frame, expected: bool = False) -> None: ...

    async def poll_loop(self) -> None: ...

    async def execute(self, cmd: Command) -> Reply: ...


@dataclass(slots=True)
class _Waiter:
    address: int | None
    match: FramePredicate
    future: asyncio.Future[Frame]


class _Connected:
    """The LineIO of one connection: a transport and the framer of this connection."""

    def __init__(self, line: SerialLine, transport: Transport, framer: Framer) -> None:
        self.line = line
        self.name = transport.name
        self.transport = transport
        self.framer = framer
        self.waiter: _Waiter | None = None
        self.turn = asyncio.Lock()
        self.lost: LinkError | None = None

    def send(self, items: Sequence[Outgoing]) -> None:
        if self.lost is not None:
            raise self.lost
        for item in items:
            self.transport.write(item if isinstance(item, bytes) else self.framer.encode(item))

    async def request(
        self, address: int | None, items: Sequence[Outgoing], match: FramePredicate, wait_s: float
    ) -> Frame | None:
        async with self.turn:
            future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
            self.waiter = _Waiter(address, match, future)
            try:
                self.send(items)
                async with asyncio.timeout(wait_s):
                    return await future
            except TimeoutError:
                # A framer without end marks (Modbus RTU) may hold a torn answer: drop it.
                self.line.garbage(self, self.framer.flush())
                return None
            finally:
                self.waiter = None

    def offer(self, frame: Frame, address: int | None) -> bool:
        """Give a frame to the pending exchange if it is the answer awaited."""
        w = self.waiter
        if w is None or w.future.done() or w.address != address or not w.match(frame):
            return False
        w.future.set_result(frame)
        return True

    def fail(self, exc: LinkError) -> None:
        self.lost = exc
        if self.waiter is not None and not self.waiter.future.done():
            self.waiter.future.set_exception(exc)


class SerialLine:
    """A serial port shared by one device, or by several on a multi-drop bus."""

    def __init__(
        self,
        key: str,
        framer: FramerSpec,
        connect: Connector,
        port: HubPort,
        *,
        multidrop: bool = False,
        retry_s: float = 2.0,
        wait_change: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.key = key
        self.framer_spec = framer
        self.multidrop = multidrop
        self.retry_s = retry_s
        self._connect = connect
        self._wait_change = wait_change
        self.port = port
        self.endpoints: dict[int | None, LineEndpoint] = {}
        self.io: _Connected | None = None
        self._polls: dict[str, asyncio.Task[None]] = {}
        self._last_error = ""
        self._framing_errors: deque[float] = deque()
        self._framing_reported = -1e9

    @property
    def label(self) -> str:
        """Whom garbage on the line is counted against: the one device, or the bus itself."""
        if len(self.endpoints) == 1:
            return next(iter(self.endpoints.values())).device_id
        return f"bus:{self.key}"

    def _who(self) -> str:
        """The devices on this line, for log lines ("kiosk-1", or "bus rs485-1: pad-1, pad-2")."""
        ids = ", ".join(ep.device_id for ep in self.endpoints.values())
        return ids if len(self.endpoints) == 1 else f"bus {self.key}: {ids or 'no devices'}"

    # -- members -----------------------------------------------------------------------------

    def add(self, endpoint: LineEndpoint) -> None:
        """Put a device on the line; it is attached at once if the line is connected."""
        slot = endpoint.address if self.multidrop else None
        if slot in self.endpoints:
            other = self.endpoints[slot].device_id
            raise ValueError(f"{endpoint.device_id} and {other} share address {slot} on {self.key}")
        self.endpoints[slot] = endpoint
        if self.io is not None:
            endpoint.attach(self.io)
            self._start_poll(endpoint)

    def remove(self, endpoint: LineEndpoint) -> None:
        """Take a device off the line (its driver stopped)."""
        slot = endpoint.address if self.multidrop else None
        if self.endpoints.get(slot) is endpoint:
            del self.endpoints[slot]
        task = self._polls.pop(endpoint.device_id, None)
        if task is not None:
            task.cancel()

    # -- connection --------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve, and reconnect after every loss, until cancelled."""
        while True:
            try:
                transport = await self._connect()
            except LinkError as exc:
                self._down(str(exc), count=not isinstance(exc, NoPortError))
                await self._pause()
                continue
            except Exception as exc:  # never let a fault end the line: report and retry
                reason = f"connecting failed: {exc!r}"
                if reason != self._last_error:
                    log.exception("%s: connecting failed", self.key)
                self._down(reason, count=True)
                await self._pause()
                continue
            if self._last_error:
                log.info("%s: serial port %s open again", self._who(), transport.name)
            self._last_error = ""
            try:
                await self._serve(transport)
            except LinkError as exc:
                self._down(str(exc), count=False)
            except Exception as exc:
                log.exception("%s: serving failed", self.key)
                self._down(f"serving failed: {exc!r}", count=True)
            finally:
                transport.close()
            await self._pause()

    async def _pause(self) -> None:
        # Back after `retry_s`, or sooner when the set of serial ports changes (a replug).
        if self._wait_change is not None:
            await self._wait_change(self.retry_s)
        else:
            await asyncio.sleep(self.retry_s)

    def _down(self, reason: str, count: bool) -> None:
        for ep in list(self.endpoints.values()):
            ep.detach(reason)
        if reason != self._last_error:
            self._last_error = reason
            # One line an installer can act on: which devices, which port, what next.
            log.warning("%s: %s; reconnecting when it is back", self._who(), reason)
            if count:
                for ep in list(self.endpoints.values()):
                    self.port.log_error(ep.device_id, reason)

    async def _serve(self, transport: Transport) -> None:
        framer = make_framer(self.framer_spec.name, **self.framer_spec.params)
        io = _Connected(self, transport, framer)
        self.io = io
        try:
            for ep in list(self.endpoints.values()):
                ep.attach(io)
                self._start_poll(ep)
            while True:
                try:
                    data = await transport.read()
                except LinkError as exc:
                    io.fail(exc)
                    raise
                self.dispatch(io, framer.feed(data))
        finally:
            self.io = None
            for task in self._polls.values():
                task.cancel()
            self._polls.clear()
            self.garbage(io, framer.flush())

    def _start_poll(self, ep: LineEndpoint) -> None:
        async def polling() -> None:
            try:
                await ep.poll_loop()
            except LinkError:
                pass  # the reader sees the loss too and reconnects
            except Exception as exc:  # a bug in one device's poll must not stop the line
                log.exception("%s: poll failed", ep.device_id)
                self.port.log_error(ep.device_id, f"poll failed: {exc!r}")

        self._polls[ep.device_id] = asyncio.create_task(polling(), name=f"poll {ep.device_id}")

    # -- frames in ---------------------------------------------------------------------------

    def dispatch(self, io: _Connected, items: Sequence[Frame | Garbage]) -> None:
        """Route what the framer found: garbage to dead letters, frames to their endpoint."""
        for item in items:
            if isinstance(item, Garbage):
                self.garbage(io, [item])
                continue
            address = item.address if self.multidrop else None
            ep = self.endpoints.get(address)
            if ep is None:
                self.port.dead_letter(self.label, item.raw, io.name, "unknown_address")
                continue
            expected = io.offer(item, ep.address)
            try:
                ep.on_frame(item, expected)
            except Exception as exc:  # a converter bug must not stop the line
                log.exception("%s: frame handling failed", ep.device_id)
                self.port.dead_letter(ep.device_id, item.raw, io.name, f"internal_error: {exc!r}")

    def garbage(self, io: _Connected, items: Sequence[Garbage]) -> None:
        """Dead-letter what the framer could not use; too many at once is a device.error."""
        for g in items:
            self.port.dead_letter(self.label, g.raw, io.name, g.reason)
            self._count_framing_error(io.name, g.reason)

    def _count_framing_error(self, port: str, reason: str) -> None:
        # A torn frame now and then is line noise (or an unplug); several a minute is a
        # fault someone should look at (wiring, termination, baud rate, a dying device).
        now = time.monotonic()
        recent = self._framing_errors
        recent.append(now)
        while recent and now - recent[0] > FRAMING_WINDOW_S:
            recent.popleft()
        if len(recent) < FRAMING_ERRORS or now - self._framing_reported < FRAMING_WINDOW_S:
            return
        self._framing_reported = now
        data = {
            "reason": f"{len(recent)} framing errors in {FRAMING_WINDOW_S:.0f} s on {port}",
            "port": port,
            "errors": len(recent),
            "last": reason,
        }
        for ep in list(self.endpoints.values()):
            self.port.submit(Event("device.error", ep.device_id, dict(data)))


class SerialDriver:
    """The Driver the hub runs for one serial device (alone on its port or on a bus)."""

    def __init__(self, endpoint: LineEndpoint, line_key: str, lines: LineJoiner) -> None:
        self.device_id = endpoint.device_id
        self.endpoint = endpoint
        self.line_key = line_key
        self._lines = lines

    async def run(self) -> None:
        """Serve the device until cancelled (joining its line, starting it if first)."""
        await self._lines.join(self.line_key, self.endpoint)

    async def execute(self, cmd: Command) -> Reply:
        """Carry out a command on the device (see Endpoint.execute)."""
        return await self.endpoint.execute(cmd)


class LineJoiner(Protocol):
    """Where a driver joins the line of its port (bus.LineBook)."""

    async def join(self, key: str, endpoint: LineEndpoint) -> None:
        """Serve `endpoint` on the line `key` until cancelled."""
        ...
