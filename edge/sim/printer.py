"""An ESC/POS invoice printer: answers DLE EOT 1-4, prints (counts) invoices, runs out of paper.

Status bytes follow docs/devices.md §6 (each with the fixed bits 0x12 of the ESC/POS spec):
n=1 bit3 offline; n=2 bit2 cover open, bit5 paper-end stop, bit6 error; n=3 bit3 cutter
error, bit5 unrecoverable; n=4 0x0C paper near end, 0x60 paper end.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from edge.sim.ports import FdPort

DLE_EOT = b"\x10\x04"
CUT = (b"\x1dV", b"\x1bi", b"\x1bm")
FIXED = 0x12


@dataclass
class PaperRoll:
    """Paper left, counted in invoices; near end below `near_end_at`."""

    left: int = 200
    near_end_at: int = 20

    @property
    def state(self) -> str:
        """ok, near_end or end."""
        if self.left <= 0:
            return "end"
        return "near_end" if self.left <= self.near_end_at else "ok"


class PrinterSim:
    """The printer end of a serial line."""

    def __init__(self, port: FdPort, paper: PaperRoll | None = None) -> None:
        self.port = port
        self.paper = paper or PaperRoll()
        self.cover_open = False
        self.cutter_error = False
        self.unrecoverable = False
        self.silent = False  # stops answering (powered off without unplugging)
        self.jobs: list[bytes] = []
        self.status_requests = 0
        self.printed = asyncio.Event()
        self._buf = bytearray()
        self._job = bytearray()

    def consume(self, invoices: int) -> None:
        """Paper used by others (counter PCs share the printer)."""
        self.paper.left = max(0, self.paper.left - invoices)

    def status(self, n: int) -> int:
        """The status byte answering DLE EOT n."""
        end = self.paper.state == "end"
        if n == 1:
            offline = self.cover_open or end or self.unrecoverable
            return FIXED | (0x08 if offline else 0)
        if n == 2:
            return (
                FIXED
                | (0x04 if self.cover_open else 0)
                | (0x20 if end else 0)
                | (0x40 if self.cutter_error or self.unrecoverable else 0)
            )
        if n == 3:
            return FIXED | (0x08 if self.cutter_error else 0) | (0x20 if self.unrecoverable else 0)
        if n == 4:
            return FIXED | {"ok": 0, "near_end": 0x0C, "end": 0x6C}[self.paper.state]
        return FIXED

    async def run(self) -> None:
        """Serve the line until it closes."""
        while True:
            data = await self.port.read()
            if not data:
                return
            self.feed(data)

    def feed(self, data: bytes) -> None:
        """Take bytes from the hub: answer real-time requests, print the rest."""
        self._buf += data
        while True:
            i = self._buf.find(DLE_EOT)
            if i < 0 or i + 2 >= len(self._buf):
                keep = 2 if i >= 0 else (1 if self._buf.endswith(b"\x10") else 0)
                cut = len(self._buf) - keep
                self._print(bytes(self._buf[:cut]))
                del self._buf[:cut]
                return
            self._print(bytes(self._buf[:i]))
            n = self._buf[i + 2]
            del self._buf[: i + 3]
            self.status_requests += 1
            if not self.silent:
                self.port.write(bytes([self.status(n)]))

    def _print(self, data: bytes) -> None:
        if not data or self.silent:
            return
        self._job += data
        while True:
            ends = [(self._job.find(c), c) for c in CUT if self._job.find(c) >= 0]
            if not ends:
                return
            at, cut = min(ends)
            if at + len(cut) + 1 > len(self._job):
                return  # the cut's last byte has not arrived yet
            job = bytes(self._job[: at + len(cut) + 1])
            del self._job[: at + len(cut) + 1]
            if self.paper.state != "end" and not self.cover_open:
                self.jobs.append(job)
                self.paper.left -= 1
                self.printed.set()
