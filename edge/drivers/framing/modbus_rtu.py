"""Modbus RTU frames: the rating pads polled as slaves, or the hub polled as one.

Wire format::

    addr  fc  data…  CRC-lo  CRC-hi

CRC-16/MODBUS over addr..data, low byte first; a frame whose CRC fails is "bad_crc".
``Frame.address`` = addr, ``Frame.command`` = fc, ``Frame.payload`` = data (the PDU after the
function code, byte count included where there is one).

RTU has no start byte, so where a frame starts is worked out from its header. The ``role``
param says which side of the conversation the hub is on:

* ``master`` (default): the hub polls, so it parses slave *responses* from addresses 1..247:
  fc 0x01-0x04 ``addr fc n data[n] CRC`` (n = 1..250, even for 0x03/0x04); fc 0x05, 0x06,
  0x0F, 0x10 ``addr fc a a b b CRC`` (8 bytes); exception fc|0x80 ``addr fc code CRC``.
* ``slave``: the hub is polled, so it parses master *requests* from addresses 0..247
  (0 = broadcast): fc 0x01-0x06 8 bytes; fc 0x0F/0x10 ``addr fc start qty n data[n] CRC``
  with n consistent with qty (ceil(qty/8) coils up to 1968, 2·qty registers up to 123).

A byte whose header fits none of these (other function codes included) does not start a
frame. Frames are at most 256 bytes, which bounds the buffer.

Without a clock the framer cannot see the 3.5-character silence that ends an RTU frame, so a
noise byte that looks like a long header holds back what follows until enough bytes arrive
to reject it. The driver calls ``flush()`` when its response timeout expires.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .base import Frame, Garbage
from .checks import crc16_modbus
from .params import check_names, choice_param
from .scanning import Examined, ScanningFramer, Verdict

__all__ = ["ROLES", "ModbusRtuFramer"]

ROLES = ("master", "slave")
MAX_ADDRESS = 247
MAX_PDU_DATA = 252  # 256-byte ADU minus address, function code and CRC

# Where a frame may start: an address byte followed by a function code this role parses, or
# by the end of the buffer (the function code has not arrived yet). A regex so that noise is
# skipped in C rather than one Python step per byte.
_RESPONSE_START = re.compile(rb"[\x01-\xf7](?=[\x01-\x06\x0f\x10\x81-\xff]|\Z)")
_REQUEST_START = re.compile(rb"[\x00-\xf7](?=[\x01-\x06\x0f\x10]|\Z)")


class ModbusRtuFramer(ScanningFramer):
    """Framer for Modbus RTU responses (role "master") or requests (role "slave")."""

    __slots__ = ("_responses", "_search", "role")
    name = "modbus_rtu"

    def __init__(self, role: str = "master") -> None:
        super().__init__()
        self.role = choice_param(self.name, "role", role, ROLES)
        self._responses = self.role == "master"
        self._search = (_RESPONSE_START if self._responses else _REQUEST_START).search

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> ModbusRtuFramer:
        """Build from profile params: `role` ("master" or "slave")."""
        check_names(cls.name, params, ("role",))
        role = choice_param(cls.name, "role", params.get("role", "master"), ROLES)
        return cls(role=role)

    def _find_start(self, buf: bytes, pos: int) -> int:
        found = self._search(buf, pos)
        return -1 if found is None else found.start()

    def _examine(self, buf: bytes, start: int, floor: int) -> Examined:
        size = len(buf)
        if size - start < 2:
            return start, Verdict.NEED_MORE
        code = buf[start + 1]
        if self._responses:
            if code <= 0x04:
                if size - start < 3:
                    return start, Verdict.NEED_MORE
                count = buf[start + 2]
                if count == 0 or count > 250 or (code >= 0x03 and count & 1):
                    return start, Verdict.NOT_A_START
                end = start + 5 + count
            elif code & 0x80:
                end = start + 5
            else:
                end = start + 8
        elif code <= 0x06:
            end = start + 8
        else:
            if size - start < 7:
                return start, Verdict.NEED_MORE
            quantity = buf[start + 4] << 8 | buf[start + 5]
            count = buf[start + 6]
            if code == 0x0F:
                fits = 1 <= quantity <= 1968 and count == (quantity + 7) // 8
            else:
                fits = 1 <= quantity <= 123 and count == 2 * quantity
            if not fits:
                return start, Verdict.NOT_A_START
            end = start + 9 + count
        if end > size:
            return start, Verdict.NEED_MORE
        raw = buf[start:end]
        if crc16_modbus(raw):
            return end, Garbage(raw, "bad_crc")
        return end, Frame(buf[start + 2 : end - 2], buf[start], code, raw)

    def encode(self, frame: Frame) -> bytes:
        """`addr fc data CRC` for any function code; ValueError for out-of-range fields."""
        addr, code, data = frame.address, frame.command, frame.payload
        if addr is None or not 0 <= addr <= MAX_ADDRESS:
            raise ValueError(f"modbus_rtu: address must be 0..{MAX_ADDRESS}, got {addr!r}")
        if code is None or not 1 <= code <= 0xFF:
            raise ValueError(f"modbus_rtu: function code must be 1..255, got {code!r}")
        if len(data) > MAX_PDU_DATA:
            raise ValueError(f"modbus_rtu: at most {MAX_PDU_DATA} data bytes, got {len(data)}")
        adu = bytes((addr, code)) + data
        return adu + crc16_modbus(adu).to_bytes(2, "little")
