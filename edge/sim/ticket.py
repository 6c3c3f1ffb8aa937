"""A queue ticket machine on a serial line (firmware-configs/ticket-machine-serial.yaml)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

from edge.drivers.framing import Frame, make_framer
from edge.sim.framed import FramedSim, Outgoing
from edge.sim.ports import FdPort

SERVICE_CODES = {
    "payment": "01",
    "new_install": "02",
    "capacity_change": "03",
    "name_transfer": "04",
    "invoice": "05",
    "consultation": "06",
}
PRIORITY_CODES = {"normal": "0", "elderly": "1", "vip": "2"}
ENCODING = "gb18030"


@dataclass(frozen=True, slots=True)
class PrintedTicket:
    request_id: str
    ticket_no: str
    service: str
    waiting_ahead: int


class TicketMachineSim(FramedSim):
    """Customers take tickets on the touch screen; the hub says what to print."""

    def __init__(self, port: FdPort, machine: str = "K1") -> None:
        super().__init__(port, make_framer("line", delimiter=b"\r\n", max_length=256))
        self.machine = machine
        self._numbers = itertools.count(1)
        self.printed: list[PrintedTicket] = []
        self.refused: list[tuple[str, str]] = []  # (request id, reason)
        self.printed_event = asyncio.Event()
        self.fail_next_print = False

    def _line(self, text: str) -> Frame:
        return Frame(payload=text.encode(ENCODING))

    async def request(
        self, service: str, priority: str = "normal", day: str = "0000"
    ) -> str | None:
        """A customer asks for a ticket; the request id once the hub journaled it, else None."""
        request_id = f"{self.machine}-{day}-{next(self._numbers):04d}"
        frame = self._line(f"REQ,{request_id},{SERVICE_CODES[service]},{PRIORITY_CODES[priority]}")
        ack = f"ACK,{request_id}".encode(ENCODING)
        ok = await self.send_until_acked(frame, lambda f: f.payload == ack, retry_s=1.0)
        return request_id if ok else None

    def handle(self, frame: Frame) -> list[Outgoing]:
        text = frame.payload.decode(ENCODING, "replace")
        if text.startswith("NAK,"):
            parts = text.split(",", 3)
            self.refused.append((parts[1], parts[2] if len(parts) > 2 else ""))
            return [self._line(f"OK,{parts[1]}")]
        if not text.startswith("PRT,"):
            return []
        parts = text.split(",")
        if len(parts) < 5:
            return [self._line(f"ERR,{parts[1] if len(parts) > 1 else ''},bad request")]
        _, request_id, ticket_no, service, ahead = parts[:5]
        if self.fail_next_print:
            self.fail_next_print = False
            return [self._line(f"ERR,{request_id},paper jam")]
        waiting = int(ahead) if ahead.isdigit() else 0
        self.printed.append(PrintedTicket(request_id, ticket_no, service, waiting))
        self.printed_event.set()
        return [self._line(f"OK,{request_id}")]
