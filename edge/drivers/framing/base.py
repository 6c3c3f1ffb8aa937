"""What every serial framer gives and takes: `Frame`, `Garbage` and the `Framer` protocol.

A framer is sans-IO: the driver feeds it the bytes a transport read, and it returns the frames
and the garbage found in them, in stream order. It never blocks and never raises on input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Frame", "Framer", "Garbage"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of a serial protocol.

    `payload` holds the meaning-bearing bytes (DL/T645: data bytes; Modbus: PDU data after the
    function code; line: the line without its delimiter; STX/ETX: the bytes between STX and
    ETX, unescaped; ESC/POS: the single status byte).
    """

    payload: bytes
    address: int | None = None  # DL/T645 addr, Modbus slave id; None where the framing has none
    command: int | None = None  # DL/T645 cmd, Modbus function code; None where none
    raw: bytes = b""  # the exact bytes on the wire (filled by feed; ignored by encode)


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes that are not part of a valid frame, with a short machine-readable reason.

    Reasons: "no_start" (bytes that cannot start a frame), "bad_checksum", "bad_crc",
    "bad_bcc", "bad_end", "bad_length", "bad_escape", "no_end", "too_long",
    "bad_status_bits", "truncated" (an incomplete frame handed back by `flush`).
    """

    raw: bytes
    reason: str


@runtime_checkable
class Framer(Protocol):
    """Bytes in, frames out; one instance per serial line."""

    name: str

    def feed(self, data: bytes) -> list[Frame | Garbage]:
        """Take the bytes just read; return the frames and garbage now complete, in order."""
        ...

    def flush(self) -> list[Garbage]:
        """Hand back what is buffered (at link loss or a line-silence timeout) and start over."""
        ...

    def encode(self, frame: Frame) -> bytes:
        """Turn a frame into wire bytes (checks computed); ValueError if it cannot be sent."""
        ...
