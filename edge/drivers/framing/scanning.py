"""The resynchronising scan loop shared by the framers whose frames start at a findable byte.

A subclass says where a frame could start (`_find_start`, a `bytes.find` or a regex, never a
Python loop over bytes) and what the bytes at such a start are (`_examine`). The loop here
does the rest, identically for every framer:

* bytes that cannot start a frame are reported as one coalesced `Garbage("no_start")` per run;
* a frame whose check fails is reported whole, and the scan resumes one byte after its start,
  so a real frame hidden inside it is still found; bytes already reported inside such a
  failed frame are not reported a second time as "no_start";
* only an incomplete frame (plus a few bytes that may begin one) is kept between calls, so
  the buffer is bounded by the framing's longest frame;
* decisions depend only on the bytes, never on how they were split into `feed` calls.
"""

from __future__ import annotations

from enum import Enum

from .base import Frame, Garbage

__all__ = ["Examined", "ScanningFramer", "Verdict"]


class Verdict(Enum):
    """What `_examine` says when it has neither a frame nor a failed frame."""

    NEED_MORE = "need_more"  # incomplete: keep the buffer from the returned index
    NOT_A_START = "not_a_start"  # the byte at the start does not begin a frame after all


# (end, Frame): a valid frame ending at `end`; its first byte is at end - len(raw).
# (end, Garbage): a frame whose check failed, ending at `end` (same rule for its start).
# (keep, Verdict.NEED_MORE): keep the buffer from `keep` and wait for more bytes.
# (_, Verdict.NOT_A_START): scan on from the next byte.
Examined = tuple[int, Frame | Garbage | Verdict]


class ScanningFramer:
    """Base of the DL/T645, Modbus RTU and STX/ETX framers: the shared `feed` and `flush`."""

    __slots__ = ("_reported", "_rest")
    name: str = "scanning"

    def __init__(self) -> None:
        self._rest = b""  # bytes kept from the last feed: the start of an incomplete frame
        self._reported = 0  # how many leading bytes of _rest were already reported as garbage

    @property
    def buffered(self) -> int:
        """Number of bytes held while waiting for the rest of a frame."""
        return len(self._rest)

    def _find_start(self, buf: bytes, pos: int) -> int:
        """Index >= pos of the next byte that may start a frame, or -1."""
        raise NotImplementedError

    def _examine(self, buf: bytes, start: int, floor: int) -> Examined:
        """Decide what the bytes at `start` are; nothing before `floor` may be claimed."""
        raise NotImplementedError

    def _keep_tail(self, buf: bytes, pos: int) -> int:
        """Where to cut when no start is left after `pos`: bytes after it may begin a frame."""
        return len(buf)

    def feed(self, data: bytes) -> list[Frame | Garbage]:
        """Take the bytes just read; return the frames and garbage now complete, in order."""
        buf = self._rest + data if self._rest else bytes(data)
        out: list[Frame | Garbage] = []
        reported = self._reported  # bytes before this index are already in a Garbage
        unclaimed = 0  # first byte not taken by a frame or reported garbage
        pos = 0  # where the search for the next start goes on
        find_start = self._find_start
        examine = self._examine
        while True:
            start = find_start(buf, pos)
            if start < 0:
                keep = self._keep_tail(buf, pos)
                break
            end, verdict = examine(buf, start, unclaimed)
            if verdict is Verdict.NOT_A_START:
                pos = start + 1
                continue
            if verdict is Verdict.NEED_MORE:
                keep = end
                break
            first = end - len(verdict.raw)
            gap = max(unclaimed, reported)
            if gap < first:
                out.append(Garbage(buf[gap:first], "no_start"))
            out.append(verdict)
            if isinstance(verdict, Frame):
                unclaimed = pos = end
            else:
                # Resume one byte after the failed frame's start: a real frame may hide inside.
                unclaimed = pos = start + 1
                reported = max(reported, end)
        gap = max(unclaimed, reported)
        if gap < keep:
            out.append(Garbage(buf[gap:keep], "no_start"))
        self._rest = buf[keep:]
        self._reported = max(0, reported - keep)
        return out

    def flush(self) -> list[Garbage]:
        """Hand back the incomplete frame being waited for, as "truncated", and start over."""
        rest = self._rest[self._reported :]
        self._rest = b""
        self._reported = 0
        return [Garbage(rest, "truncated")] if rest else []
