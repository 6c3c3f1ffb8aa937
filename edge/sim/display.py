"""The call display and voice controller (firmware-configs/call-display-485.yaml), STX/ETX."""

from __future__ import annotations

import asyncio

from edge.drivers.framing import Frame, make_framer
from edge.sim.framed import FramedSim, Outgoing
from edge.sim.ports import FdPort

ENCODING = "gb18030"


class DisplaySim(FramedSim):
    """Shows calls on the LED wall and speaks them."""

    def __init__(self, port: FdPort) -> None:
        super().__init__(port, make_framer("stx_etx"))
        self.calls: list[tuple[str, str, str]] = []  # (ticket no, counter, text)
        self.announcements: list[str] = []
        self.changed = asyncio.Event()
        self.broken = False  # answer ER to everything (lamp failure)

    def _text(self, text: str) -> Frame:
        return Frame(payload=text.encode(ENCODING))

    def handle(self, frame: Frame) -> list[Outgoing]:
        text = frame.payload.decode(ENCODING, "replace")
        if text == "Q":
            return [self._text("S|ER|lamp" if self.broken else "S|OK")]
        if self.broken:
            return [self._text("ER|lamp failure")]
        if text.startswith("D|"):
            parts = text.split("|", 3)
            if len(parts) != 4:
                return [self._text("ER|bad call")]
            self.calls.append((parts[1], parts[2], parts[3]))
        elif text.startswith("V|"):
            parts = text.split("|", 2)
            if len(parts) != 3:
                return [self._text("ER|bad announcement")]
            self.announcements.append(parts[2])
        else:
            return [self._text("ER|unknown")]
        self.changed.set()
        return [self._text("OK")]
