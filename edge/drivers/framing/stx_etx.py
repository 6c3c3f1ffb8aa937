"""STX/ETX frames with an XOR block check, as many displays and ticket printers speak.

Wire format::

    02  body…  03  BCC

* ``BCC`` = XOR of the payload bytes and of ``03``; a mismatch is "bad_bcc". The BCC is sent
  as is, never escaped (its place right after ``03`` is known).
* ``escape`` false (default): body = payload, which may contain neither ``02`` nor ``03``.
* ``escape`` true: in the body, ``02``, ``03`` and ``10`` are sent as ``10`` followed by the
  byte XOR 0x20 (``10 22``, ``10 23``, ``10 30``), so any payload can be carried. Any other
  byte after ``10`` is "bad_escape".
* ``max_length`` (default 1024) bounds the body *on the wire* (escape pairs count two);
  a ``02`` followed by that many bytes without ``03`` is "too_long".
* A ``02`` met before the ``03`` abandons the frame begun so far ("no_end") and starts anew;
  bytes outside ``02``…``03 BCC`` are "no_start". ``Frame.payload`` is the unescaped payload.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Frame, Garbage
from .checks import xor_bcc
from .params import bool_param, check_names, int_param
from .scanning import Examined, ScanningFramer, Verdict

__all__ = ["StxEtxFramer"]

STX = 0x02
ETX = 0x03
DLE = 0x10
_ESCAPED = (0x22, 0x23, 0x30)  # STX, ETX and DLE, each XOR 0x20
MAX_LENGTH_LIMIT = 65536


def _unescape(body: bytes) -> bytes | None:
    """The payload carried by an escaped body, or None if an escape pair is malformed."""
    if DLE not in body:
        return body
    parts = body.split(b"\x10")
    out = [parts[0]]
    for part in parts[1:]:
        if not part or part[0] not in _ESCAPED:
            return None
        out.append(bytes((part[0] ^ 0x20,)))
        out.append(part[1:])
    return b"".join(out)


def _escape(payload: bytes) -> bytes:
    # DLE first, or the DLEs added for STX and ETX would be escaped again.
    return (
        payload.replace(b"\x10", b"\x10\x30")
        .replace(b"\x02", b"\x10\x22")
        .replace(b"\x03", b"\x10\x23")
    )


class StxEtxFramer(ScanningFramer):
    """Framer for `02 body 03 BCC`, optionally with DLE escaping."""

    __slots__ = ("escape", "max_length")
    name = "stx_etx"

    def __init__(self, escape: bool = False, max_length: int = 1024) -> None:
        super().__init__()
        self.escape = bool_param(self.name, "escape", escape)
        self.max_length = int_param(self.name, "max_length", max_length, 1, MAX_LENGTH_LIMIT)

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> StxEtxFramer:
        """Build from profile params: `escape` (bool), `max_length` (int)."""
        check_names(cls.name, params, ("escape", "max_length"))
        escape = bool_param(cls.name, "escape", params.get("escape", False))
        max_length = int_param(
            cls.name, "max_length", params.get("max_length", 1024), 1, MAX_LENGTH_LIMIT
        )
        return cls(escape=escape, max_length=max_length)

    def _find_start(self, buf: bytes, pos: int) -> int:
        return buf.find(STX, pos)

    def _examine(self, buf: bytes, start: int, floor: int) -> Examined:
        size = len(buf)
        # The ETX may stand at most max_length bytes after the STX's successor.
        window = start + self.max_length + 2
        etx = buf.find(ETX, start + 1, window)
        restart = buf.find(STX, start + 1, etx if etx >= 0 else window)
        if restart >= 0:
            return restart, Garbage(buf[start:restart], "no_end")
        if etx < 0:
            if size >= window:
                return window, Garbage(buf[start:window], "too_long")
            return start, Verdict.NEED_MORE
        end = etx + 2
        if end > size:
            return start, Verdict.NEED_MORE
        raw = buf[start:end]
        payload = buf[start + 1 : etx]
        if self.escape:
            unescaped = _unescape(payload)
            if unescaped is None:
                return end, Garbage(raw, "bad_escape")
            payload = unescaped
        if xor_bcc(payload) ^ ETX != buf[etx + 1]:
            return end, Garbage(raw, "bad_bcc")
        return end, Frame(payload, raw=raw)

    def encode(self, frame: Frame) -> bytes:
        """`02 body 03 BCC`; ValueError if the payload cannot be carried or is too long."""
        if frame.address is not None or frame.command is not None:
            raise ValueError("stx_etx: frames have no address or command")
        payload = frame.payload
        if self.escape:
            body = _escape(payload)
        elif STX in payload or ETX in payload:
            raise ValueError("stx_etx: payload contains 02 or 03; set escape: true to send it")
        else:
            body = payload
        if len(body) > self.max_length:
            raise ValueError(
                f"stx_etx: body of {len(body)} bytes exceeds max_length {self.max_length}"
            )
        return b"\x02" + body + bytes((ETX, xor_bcc(payload) ^ ETX))
