"""make_framer, FRAMER_NAMES and the shared helpers of edge.drivers.framing."""

from __future__ import annotations

from functools import reduce
from operator import xor

import pytest
from hypothesis import given
from hypothesis import strategies as st

import edge.drivers.framing as framing
from edge.drivers.framing import FRAMER_NAMES, Frame, Framer, Garbage, make_framer, xor_bcc


def test_the_five_framings_are_named() -> None:
    assert FRAMER_NAMES == ("dlt645", "modbus_rtu", "escpos_status", "stx_etx", "line")


@pytest.mark.parametrize("name", FRAMER_NAMES)
def test_each_name_makes_a_fresh_framer_of_that_name(name: str) -> None:
    first, second = make_framer(name), make_framer(name)
    assert isinstance(first, Framer)
    assert first.name == name
    assert first is not second
    assert first.feed(b"") == [] and first.flush() == []


@pytest.mark.parametrize("name", FRAMER_NAMES)
def test_unknown_param_is_named(name: str) -> None:
    with pytest.raises(ValueError, match=f"framer '{name}': unknown param 'baud'"):
        make_framer(name, baud=9600)


def test_unknown_framer_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown framer 'hdlc'.*dlt645, modbus_rtu"):
        make_framer("hdlc")


def test_framers_are_independent() -> None:
    one, two = make_framer("line"), make_framer("line")
    one.feed(b"half")
    assert two.feed(b"x\r\n") == [Frame(b"x", raw=b"x\r\n")]
    assert one.flush() == [Garbage(b"half", "truncated")]


def test_frame_and_garbage_are_immutable_values() -> None:
    frame = Frame(b"\x01", 2, 3, b"raw")
    assert frame == Frame(b"\x01", 2, 3, b"raw") and hash(frame) == hash(
        Frame(b"\x01", 2, 3, b"raw")
    )
    with pytest.raises(AttributeError):
        frame.payload = b""  # type: ignore[misc]
    assert Garbage(b"x", "no_start") != Garbage(b"x", "bad_crc")


@given(st.binary(max_size=3000))
def test_xor_bcc_is_the_xor_of_all_bytes(data: bytes) -> None:
    assert xor_bcc(data) == reduce(xor, data, 0)


def test_public_names() -> None:
    for name in ("make_framer", "FRAMER_NAMES", "Frame", "Garbage", "Framer", "crc16_modbus"):
        assert name in framing.__all__
