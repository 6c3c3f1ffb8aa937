"""DL/T645-style multi-drop frames: the callers and rating pads sharing one RS-485 line.

Wire format (9600 8N1)::

    [FF…]  68  L  L  68  addr  cmd  data…  CS  16

* ``FF`` wake-up bytes are optional on input; up to four directly before the first ``68``
  belong to the frame (they are in ``Frame.raw``); more are garbage. ``encode`` sends one.
* ``L`` = number of bytes from ``addr`` up to, not including, ``CS`` = 2 + len(data), so
  0 to 253 data bytes. It is sent twice; copies that differ, or L < 2, are "bad_length".
* ``CS`` = (addr + cmd + sum(data)) mod 256, else "bad_checksum"; the last byte must be
  ``16``, else "bad_end".
* ``Frame.address`` = addr, ``Frame.command`` = cmd, ``Frame.payload`` = data.

A ``68`` not followed by ``L L 68`` does not start a frame. The longest frame is
4 + 6 + 255 = 265 bytes with its wake-up bytes, which bounds what the framer buffers.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Frame, Garbage
from .params import check_names
from .scanning import Examined, ScanningFramer, Verdict

__all__ = ["Dlt645Framer"]

START = 0x68
END = 0x16
WAKE_UP = 0xFF
MAX_WAKE_UP = 4
MAX_DATA = 253


class Dlt645Framer(ScanningFramer):
    """Framer for the `FF 68 L L 68 addr cmd data CS 16` multi-drop frame."""

    __slots__ = ()
    name = "dlt645"

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> Dlt645Framer:
        """Build from profile params (this framing takes none)."""
        check_names(cls.name, params, ())
        return cls()

    def _find_start(self, buf: bytes, pos: int) -> int:
        return buf.find(START, pos)

    def _keep_tail(self, buf: bytes, pos: int) -> int:
        # Trailing wake-up bytes may belong to a frame whose 68 has not arrived yet.
        keep = len(buf)
        low = max(pos, keep - MAX_WAKE_UP)
        while keep > low and buf[keep - 1] == WAKE_UP:
            keep -= 1
        return keep

    def _examine(self, buf: bytes, start: int, floor: int) -> Examined:
        first = start
        low = max(floor, start - MAX_WAKE_UP)
        while first > low and buf[first - 1] == WAKE_UP:
            first -= 1
        size = len(buf)
        if size - start < 4:
            return first, Verdict.NEED_MORE
        if buf[start + 3] != START:
            return start, Verdict.NOT_A_START
        length = buf[start + 1]
        if length != buf[start + 2] or length < 2:
            return start + 4, Garbage(buf[first : start + 4], "bad_length")
        sum_at = start + 4 + length
        end = sum_at + 2
        if end > size:
            return first, Verdict.NEED_MORE
        if buf[end - 1] != END:
            return end, Garbage(buf[first:end], "bad_end")
        if sum(buf[start + 4 : sum_at]) & 0xFF != buf[sum_at]:
            return end, Garbage(buf[first:end], "bad_checksum")
        return end, Frame(buf[start + 6 : sum_at], buf[start + 4], buf[start + 5], buf[first:end])

    def encode(self, frame: Frame) -> bytes:
        """`FF 68 L L 68 addr cmd data CS 16`; ValueError for a missing or out-of-range field."""
        addr, cmd, data = frame.address, frame.command, frame.payload
        if addr is None or not 0 <= addr <= 0xFF:
            raise ValueError(f"dlt645: address must be 0..255, got {addr!r}")
        if cmd is None or not 0 <= cmd <= 0xFF:
            raise ValueError(f"dlt645: command must be 0..255, got {cmd!r}")
        if len(data) > MAX_DATA:
            raise ValueError(f"dlt645: at most {MAX_DATA} data bytes, got {len(data)}")
        length = len(data) + 2
        check = (addr + cmd + sum(data)) & 0xFF
        return (
            bytes((WAKE_UP, START, length, length, START, addr, cmd)) + data + bytes((check, END))
        )
