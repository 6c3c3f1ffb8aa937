"""Check values of the serial framings: CRC-16/MODBUS and the XOR block check character."""

from __future__ import annotations

__all__ = ["crc16_modbus", "xor_bcc"]


def _crc16_modbus_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC16_MODBUS_TABLE = _crc16_modbus_table()


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS (reflected poly 0xA001, init 0xFFFF); sent low byte first.

    Over a whole frame including its CRC the result is 0, which is how frames are checked.
    """
    crc = 0xFFFF
    table = _CRC16_MODBUS_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def xor_bcc(data: bytes) -> int:
    """XOR of all bytes of `data` (0 for no bytes)."""
    # Fold the bytes as one integer, halving it each round: a handful of C-level big-integer
    # operations instead of one Python step per byte.
    size = len(data)
    value = int.from_bytes(data, "little")
    while size > 1:
        half = (size + 1) // 2
        value = (value & ((1 << (8 * half)) - 1)) ^ (value >> (8 * half))
        size = half
    return value
