"""Text lines, as ASCII/UTF-8 devices (and simple simulators) send them.

Wire format::

    line…  delimiter

* ``delimiter`` (default ``\\r\\n``; 1 to 8 bytes; a str is taken as UTF-8).
* ``Frame.payload`` = the line without its delimiter, as bytes: decoding (UTF-8, GB18030...)
  is the converter's business. An empty line is a frame with an empty payload.
* ``max_length`` (default 1024) bounds the line without its delimiter. A longer line is
  reported as "too_long" garbage up to and including its delimiter, possibly in several
  pieces while it is still arriving, and nothing of it is taken as a line.

Every byte belongs to some line, so a line framer resynchronises only at a delimiter; the
buffer holds at most ``max_length + len(delimiter) - 1`` bytes between feeds.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Frame, Garbage
from .params import bytes_param, check_names, int_param

__all__ = ["LineFramer"]

MAX_DELIMITER = 8
MAX_LENGTH_LIMIT = 65536


class LineFramer:
    """Framer for delimiter-terminated lines."""

    __slots__ = ("_discarding", "_rest", "delimiter", "max_length")
    name = "line"

    def __init__(self, delimiter: bytes | str = b"\r\n", max_length: int = 1024) -> None:
        self.delimiter = bytes_param(self.name, "delimiter", delimiter, MAX_DELIMITER)
        self.max_length = int_param(self.name, "max_length", max_length, 1, MAX_LENGTH_LIMIT)
        self._rest = b""
        self._discarding = False  # inside a too-long line, dropping bytes up to its delimiter

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> LineFramer:
        """Build from profile params: `delimiter` (str or bytes), `max_length` (int)."""
        check_names(cls.name, params, ("delimiter", "max_length"))
        delimiter = bytes_param(
            cls.name, "delimiter", params.get("delimiter", b"\r\n"), MAX_DELIMITER
        )
        max_length = int_param(
            cls.name, "max_length", params.get("max_length", 1024), 1, MAX_LENGTH_LIMIT
        )
        return cls(delimiter=delimiter, max_length=max_length)

    @property
    def buffered(self) -> int:
        """Number of bytes held while waiting for a delimiter."""
        return len(self._rest)

    def feed(self, data: bytes) -> list[Frame | Garbage]:
        """One Frame per complete line; "too_long" Garbage for lines over max_length."""
        buf = self._rest + data if self._rest else bytes(data)
        delimiter = self.delimiter
        width = len(delimiter)
        window = self.max_length + width
        size = len(buf)
        out: list[Frame | Garbage] = []
        pos = 0
        while True:
            if self._discarding:
                found = buf.find(delimiter, pos)
                if found < 0:
                    # Keep what may be the first bytes of the delimiter.
                    cut = max(pos, size - width + 1)
                    if cut > pos:
                        out.append(Garbage(buf[pos:cut], "too_long"))
                    pos = cut
                    break
                out.append(Garbage(buf[pos : found + width], "too_long"))
                pos = found + width
                self._discarding = False
            found = buf.find(delimiter, pos, pos + window)
            if found >= 0:
                out.append(Frame(buf[pos:found], raw=buf[pos : found + width]))
                pos = found + width
            elif size - pos >= window:
                self._discarding = True
            else:
                break
        self._rest = buf[pos:]
        return out

    def flush(self) -> list[Garbage]:
        """Hand back an unterminated line ("truncated", or "too_long" if it was) and reset."""
        rest = self._rest
        reason = "too_long" if self._discarding else "truncated"
        self._rest = b""
        self._discarding = False
        return [Garbage(rest, reason)] if rest else []

    def encode(self, frame: Frame) -> bytes:
        """The payload and the delimiter; ValueError if it would not read back as one line."""
        if frame.address is not None or frame.command is not None:
            raise ValueError("line: frames have no address or command")
        wire = frame.payload + self.delimiter
        if len(frame.payload) > self.max_length:
            raise ValueError(
                f"line: line of {len(frame.payload)} bytes exceeds max_length {self.max_length}"
            )
        if wire.find(self.delimiter) != len(frame.payload):
            raise ValueError(f"line: payload contains the delimiter {self.delimiter!r}")
        return wire
