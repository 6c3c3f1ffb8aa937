"""ESC/POS real-time status replies (DLE EOT n) of the invoice printers."""

from __future__ import annotations

import pytest

from edge.drivers.framing import EscposStatusFramer, Frame, Garbage, make_framer
from edge.drivers.framing.escpos_status import is_status_byte


def status(byte: int) -> Frame:
    return Frame(bytes((byte,)), raw=bytes((byte,)))


def test_status_bytes_of_the_printer() -> None:
    # 12 all fine; 16 cover open (n=2, bit 2); 1A offline (n=1, bit 3); 1E paper near end
    # (n=4, 0C); 72 paper end (n=4, 60); 32 unrecoverable (n=3, bit 5); 52 auto-recoverable
    # error (n=3, bit 6).
    replies = bytes.fromhex("12 16 1A 1E 72 32 52")
    assert EscposStatusFramer().feed(replies) == [status(b) for b in replies]


def test_fixed_bits_are_checked() -> None:
    # bit 0 set (13), bit 1 clear (10), bit 4 clear (02), bit 7 set (92).
    for byte in (0x13, 0x10, 0x02, 0x92, 0x00, 0xFF):
        assert not is_status_byte(byte)
        assert EscposStatusFramer().feed(bytes((byte,))) == [
            Garbage(bytes((byte,)), "bad_status_bits")
        ]
    assert sum(is_status_byte(b) for b in range(256)) == 16


def test_bad_bytes_in_a_row_are_one_garbage() -> None:
    out = EscposStatusFramer().feed(bytes.fromhex("12 00 FF 13 16 80"))
    assert out == [
        status(0x12),
        Garbage(b"\x00\xff\x13", "bad_status_bits"),
        status(0x16),
        Garbage(b"\x80", "bad_status_bits"),
    ]


def test_nothing_is_buffered() -> None:
    framer = EscposStatusFramer()
    assert framer.feed(b"") == []
    assert framer.feed(b"\x00") == [Garbage(b"\x00", "bad_status_bits")]
    assert framer.buffered == 0
    assert framer.flush() == []


def test_encode_is_the_status_byte() -> None:
    framer = EscposStatusFramer()
    assert framer.encode(Frame(b"\x1e")) == b"\x1e"
    for bad in (Frame(b"\x00"), Frame(b""), Frame(b"\x12\x12"), Frame(b"\x12", address=1)):
        with pytest.raises(ValueError, match="escpos_status"):
            framer.encode(bad)


def test_made_by_name_without_params() -> None:
    assert make_framer("escpos_status").name == "escpos_status"
    with pytest.raises(ValueError, match="'n'"):
        make_framer("escpos_status", n=2)
