"""ESC/POS real-time status replies of the invoice printers.

The hub asks with ``DLE EOT n`` (``10 04 n``, n = 1..4) and the printer answers with one
status byte per request, no framing around it. The ESC/POS spec fixes four bits of every
status byte::

    bit 7 = 0, bit 4 = 1, bit 1 = 1, bit 0 = 0        i.e. byte & 0x93 == 0x12

A byte that breaks them is "bad_status_bits" (consecutive ones coalesced into one Garbage).
``Frame.payload`` is the status byte itself; which request it answers is the driver's
business, since the byte does not say. Automatic status back (ASB, 4-byte replies) must be
off on the printer. The meaning of the other bits per ``n`` is for the converters
(docs/devices.md §6: n=1 offline bit 3; n=2 cover open bit 2, paper-end stop bit 5, error
bit 6; ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .base import Frame, Garbage
from .params import check_names

__all__ = ["EscposStatusFramer", "is_status_byte"]

FIXED_MASK = 0x93
FIXED_BITS = 0x12


def is_status_byte(byte: int) -> bool:
    """True if `byte` has the four fixed bits of an ESC/POS status reply."""
    return byte & FIXED_MASK == FIXED_BITS


# Frames are immutable, so one per possible status byte is made once and shared.
_FRAME_OF = {b: Frame(bytes((b,)), raw=bytes((b,))) for b in range(256) if is_status_byte(b)}
_BAD_RUN = re.compile(b"[^" + b"".join(re.escape(bytes((b,))) for b in sorted(_FRAME_OF)) + b"]+")


class EscposStatusFramer:
    """Framer for one-byte `DLE EOT n` status replies; keeps no state between feeds."""

    __slots__ = ()
    name = "escpos_status"

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> EscposStatusFramer:
        """Build from profile params (this framing takes none)."""
        check_names(cls.name, params, ())
        return cls()

    @property
    def buffered(self) -> int:
        """Always 0: every byte is decided as it arrives."""
        return 0

    def feed(self, data: bytes) -> list[Frame | Garbage]:
        """One Frame per valid status byte, one Garbage per run of invalid ones."""
        frame_of = _FRAME_OF
        out: list[Frame | Garbage] = []
        pos = 0
        for bad in _BAD_RUN.finditer(data):
            out.extend([frame_of[b] for b in data[pos : bad.start()]])
            out.append(Garbage(bytes(bad.group()), "bad_status_bits"))
            pos = bad.end()
        out.extend([frame_of[b] for b in data[pos:]])
        return out

    def flush(self) -> list[Garbage]:
        """Nothing is ever buffered."""
        return []

    def encode(self, frame: Frame) -> bytes:
        """The status byte itself (for printer simulators); ValueError if it is not one."""
        if frame.address is not None or frame.command is not None:
            raise ValueError("escpos_status: frames have no address or command")
        if len(frame.payload) != 1 or not is_status_byte(frame.payload[0]):
            raise ValueError(
                f"escpos_status: payload must be one status byte (b & 0x93 == 0x12), "
                f"got {frame.payload!r}"
            )
        return frame.payload
