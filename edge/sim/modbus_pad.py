"""Rating pads answering as Modbus RTU slaves (firmware-configs/rating-pad-modbus.yaml).

Registers: 0 pending key (0 none, 1 非常满意 ... 5 非常不满意), 1 rating counter, 2 session.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

from edge.drivers.framing import Frame, make_framer
from edge.sim.framed import FramedSim, Outgoing
from edge.sim.ports import FdPort

READ_HOLDING = 0x03
WRITE_SINGLE = 0x06
ILLEGAL_ADDRESS = 0x02


class ModbusPadSim:
    """One pad: its three holding registers."""

    def __init__(
        self, line: ModbusLineSim, slave: int, choose: Callable[[], int] | None = None
    ) -> None:
        self.slave = slave
        self.registers = [0, 0, 0]
        self.taken = asyncio.Event()  # set when the hub cleared register 0
        self.sessions: list[int] = []
        self.ratings: list[int] = []
        self.choose = choose  # when set, a customer rates by itself after each session start
        self.delay_s = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        line.pads[slave] = self

    async def _rate_later(self, level: int) -> None:
        await asyncio.sleep(self.delay_s)
        self.rate(level)

    def rate(self, level: int) -> None:
        """The customer presses the key of `level`; the hub finds it at its next poll."""
        self.taken.clear()
        self.registers[0] = 6 - level
        self.registers[1] = (self.registers[1] + 1) & 0xFFFF
        self.ratings.append(level)

    def answer(self, frame: Frame) -> Frame:
        """The pad's answer to a master request (registers read or written)."""
        fc = frame.command or 0
        if fc == READ_HOLDING and len(frame.payload) == 4:
            start, count = struct.unpack(">HH", frame.payload)
            if start + count > len(self.registers):
                return Frame(bytes([ILLEGAL_ADDRESS]), self.slave, fc | 0x80)
            values = self.registers[start : start + count]
            return Frame(bytes([2 * count]) + struct.pack(f">{count}H", *values), self.slave, fc)
        if fc == WRITE_SINGLE and len(frame.payload) == 4:
            register, value = struct.unpack(">HH", frame.payload)
            if register >= len(self.registers):
                return Frame(bytes([ILLEGAL_ADDRESS]), self.slave, fc | 0x80)
            self.registers[register] = value
            if register == 0 and value == 0:
                self.taken.set()
            if register == 2 and value:
                self.sessions.append(value)
                if self.choose is not None:
                    task = asyncio.get_running_loop().create_task(self._rate_later(self.choose()))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            return Frame(frame.payload, self.slave, fc)
        return Frame(bytes([0x01]), self.slave, fc | 0x80)  # illegal function


class ModbusLineSim(FramedSim):
    """An RS-485 line of Modbus pads; the hub is the master."""

    def __init__(self, port: FdPort) -> None:
        super().__init__(port, make_framer("modbus_rtu", role="slave"))
        self.pads: dict[int, ModbusPadSim] = {}

    def handle(self, frame: Frame) -> list[Outgoing]:
        pad = self.pads.get(frame.address if frame.address is not None else -1)
        return [pad.answer(frame)] if pad is not None else []
