"""Counter callers and rating pads on one simulated RS-485 bus (DL/T645-style frames).

The bytes are those of firmware-configs/counter-caller-485.yaml and rating-pad-485.yaml:
a key press is sent until the hub echoes it; the hub's commands are answered with the
command code | 0x80.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.drivers.framing import Frame, make_framer
from edge.sim.framed import FramedSim, Outgoing, echo_of
from edge.sim.ports import FdPort

KEY_CODES = {
    "call_next": 0x0C,
    "recall": 0x0D,
    "finish": 0x0B,
    "pause": 0x12,
    "transfer": 0x13,
    "resume": 0x14,
    "no_show": 0x15,
}
CMD_KEY = 0x01
CMD_RATING = 0x11
CMD_SHOW_DIGITS = 0x21
CMD_BEEP = 0x22
CMD_RATING_START = 0x14
CMD_RATING_CANCEL = 0x16
CMD_HEARTBEAT = 0x30
REPLY = 0x80


class BusMember:
    """A device with an address on the bus."""

    def __init__(self, bus: BusSim, address: int) -> None:
        self.bus = bus
        self.address = address
        self._seq = random.randrange(256)
        bus.members[address] = self

    def next_seq(self) -> int:
        """The next press number (0-255, rolling), as the firmware counts."""
        self._seq = (self._seq + 1) % 256
        return self._seq

    def reply(self, frame: Frame, data: bytes = b"") -> Frame:
        """The answer to a command frame: its code with bit 7 set."""
        return Frame(payload=data, address=self.address, command=(frame.command or 0) | REPLY)

    def handle(self, frame: Frame) -> list[Outgoing]:
        if frame.command == CMD_HEARTBEAT:
            return [self.reply(frame, b"\x00")]
        return []


class BusSim(FramedSim):
    """One RS-485 pair: the frames are handed to the member with their address."""

    def __init__(self, port: FdPort) -> None:
        super().__init__(port, make_framer("dlt645"))
        self.members: dict[int, BusMember] = {}

    def handle(self, frame: Frame) -> list[Outgoing]:
        member = self.members.get(frame.address if frame.address is not None else -1)
        return member.handle(frame) if member is not None else []


@dataclass
class CallerState:
    display: str = ""
    beeps: int = 0
    shown: list[str] = field(default_factory=list)


class CallerSim(BusMember):
    """A counter caller: keys pressed by a clerk; shows digits and beeps when told."""

    def __init__(self, bus: BusSim, address: int) -> None:
        super().__init__(bus, address)
        self.state = CallerState()
        self.digits_shown = asyncio.Event()

    async def press(self, action: str, to_counter: int | None = None) -> bool:
        """Press a key; True once the hub acknowledged it (journaled)."""
        data = bytes([self.next_seq()])
        if action == "transfer":
            data += bytes([to_counter or 0])
        data += bytes([KEY_CODES[action]])
        frame = Frame(payload=data, address=self.address, command=CMD_KEY)
        return await self.bus.send_until_acked(frame, echo_of(frame))

    def handle(self, frame: Frame) -> list[Outgoing]:
        if frame.command == CMD_SHOW_DIGITS:
            self.state.display = frame.payload.decode("ascii", "replace").strip()
            self.state.shown.append(self.state.display)
            self.digits_shown.set()
            return [self.reply(frame)]
        if frame.command == CMD_BEEP:
            self.state.beeps += frame.payload[0] if frame.payload else 1
            return [self.reply(frame)]
        return super().handle(frame)


LevelChooser = Callable[[], int]


class RatingPadSim(BusMember):
    """A rating pad: lit by rating.start; the customer presses one of five keys."""

    def __init__(self, bus: BusSim, address: int, choose: LevelChooser | None = None) -> None:
        super().__init__(bus, address)
        self.choose = choose  # when set, a customer rates by itself after each start
        self.delay_s = 0.0
        self.lit = False
        self.tickets: list[str] = []
        self.ratings: list[int] = []
        self.started = asyncio.Event()
        self._tasks: set[asyncio.Task[bool]] = set()

    async def rate(self, level: int) -> bool:
        """Press the key for `level` (5 非常满意 ... 1 非常不满意); True once acknowledged."""
        frame = Frame(
            payload=bytes([5 - level, self.next_seq()]), address=self.address, command=CMD_RATING
        )
        self.lit = False
        ok = await self.bus.send_until_acked(frame, echo_of(frame))
        if ok:
            self.ratings.append(level)
        return ok

    async def _rate_later(self, level: int) -> bool:
        await asyncio.sleep(self.delay_s)
        return await self.rate(level)

    def handle(self, frame: Frame) -> list[Outgoing]:
        if frame.command == CMD_RATING_START:
            self.lit = True
            self.tickets.append(frame.payload[1:].decode("ascii", "replace").strip())
            self.started.set()
            if self.choose is not None:
                task = asyncio.get_running_loop().create_task(self._rate_later(self.choose()))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return [self.reply(frame)]
        if frame.command == CMD_RATING_CANCEL:
            self.lit = False
            return [self.reply(frame)]
        return super().handle(frame)
