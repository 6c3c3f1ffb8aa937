"""What every simulated serial device does: read frames, answer them, resend until acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from edge.drivers.framing import Frame, Framer, Garbage
from edge.sim.ports import FdPort

Outgoing = Frame | bytes


@dataclass(slots=True)
class _AckWait:
    is_ack: Callable[[Frame], bool]
    future: asyncio.Future[Frame]


class FramedSim:
    """A device on one serial line speaking one framing (the real bytes)."""

    def __init__(self, port: FdPort, framer: Framer) -> None:
        self.port = port
        self.framer = framer
        self.garbage: list[Garbage] = []
        self.received: list[Frame] = []
        self._acks: list[_AckWait] = []

    async def run(self) -> None:
        """Serve the line until it closes."""
        while True:
            data = await self.port.read()
            if not data:
                return
            for item in self.framer.feed(data):
                if isinstance(item, Garbage):
                    self.garbage.append(item)
                    continue
                self.received.append(item)
                if self._take_ack(item):
                    continue
                for out in self.handle(item):
                    self.send(out)

    def handle(self, frame: Frame) -> list[Outgoing]:
        """Answer a frame from the hub (override); the default ignores it."""
        return []

    def send(self, item: Outgoing) -> None:
        self.port.write(item if isinstance(item, bytes) else self.framer.encode(item))

    def _take_ack(self, frame: Frame) -> bool:
        for wait in self._acks:
            if not wait.future.done() and wait.is_ack(frame):
                wait.future.set_result(frame)
                return True
        return False

    async def send_until_acked(
        self,
        frame: Frame,
        is_ack: Callable[[Frame], bool],
        retry_s: float = 0.5,
        tries: int = 10,
    ) -> bool:
        """Send `frame`, and send it again every `retry_s` until the hub acknowledges it."""
        wait = _AckWait(is_ack, asyncio.get_running_loop().create_future())
        self._acks.append(wait)
        try:
            for _ in range(tries):
                self.send(frame)
                try:
                    async with asyncio.timeout(retry_s):
                        await asyncio.shield(wait.future)
                    return True
                except TimeoutError:
                    continue
            return False
        finally:
            self._acks.remove(wait)


def echo_of(frame: Frame) -> Callable[[Frame], bool]:
    """The acknowledgement of a DL/T645-style bus: the same frame sent back."""

    def matches(f: Frame) -> bool:
        return (f.address, f.command, f.payload) == (frame.address, frame.command, frame.payload)

    return matches
