"""STX/ETX frames with an XOR block check, plain and DLE-escaped."""

from __future__ import annotations

import pytest

from edge.drivers.framing import Frame, Garbage, StxEtxFramer, make_framer, xor_bcc

# A display is told "A012": BCC = 41 ^ 30 ^ 31 ^ 32 ^ 03 = 71.
A012 = bytes.fromhex("02 41 30 31 32 03 71")
# "OK": BCC = 4F ^ 4B ^ 03 = 07.
OK = bytes.fromhex("02 4F 4B 03 07")


def test_frame_with_its_bcc() -> None:
    assert StxEtxFramer().feed(A012) == [Frame(b"A012", raw=A012)]
    assert StxEtxFramer().encode(Frame(b"A012")) == A012
    assert xor_bcc(b"A012\x03") == 0x71


def test_empty_payload() -> None:
    wire = bytes.fromhex("02 03 03")
    assert StxEtxFramer().encode(Frame(b"")) == wire
    assert StxEtxFramer().feed(wire) == [Frame(b"", raw=wire)]


def test_noise_between_frames_is_one_garbage_each() -> None:
    out = StxEtxFramer().feed(b"\x00\x03\x99" + A012 + b"\x16\x16" + OK)
    assert out == [
        Garbage(b"\x00\x03\x99", "no_start"),
        Frame(b"A012", raw=A012),
        Garbage(b"\x16\x16", "no_start"),
        Frame(b"OK", raw=OK),
    ]


def test_bad_bcc_then_a_good_frame() -> None:
    bad = A012[:-1] + b"\x70"
    assert StxEtxFramer().feed(bad + OK) == [Garbage(bad, "bad_bcc"), Frame(b"OK", raw=OK)]


def test_stx_before_etx_abandons_the_frame_begun() -> None:
    framer = StxEtxFramer()
    assert framer.feed(b"\x02AB") == []
    assert framer.feed(OK) == [Garbage(b"\x02AB", "no_end"), Frame(b"OK", raw=OK)]


def test_a_bcc_equal_to_stx_does_not_start_a_frame() -> None:
    # Payload 01: BCC = 01 ^ 03 = 02, the STX byte, right before the next frame's STX.
    wire = StxEtxFramer().encode(Frame(b"\x01"))
    assert wire == bytes.fromhex("02 01 03 02")
    assert StxEtxFramer().feed(wire + OK) == [Frame(b"\x01", raw=wire), Frame(b"OK", raw=OK)]


def test_too_long_without_etx_is_cut_off_and_scanning_goes_on() -> None:
    framer = StxEtxFramer(max_length=4)
    assert framer.feed(b"\x02ABCD") == []  # an ETX may still come
    out = framer.feed(b"E\x03\x44" + OK)
    assert out == [
        Garbage(b"\x02ABCDE", "too_long"),
        Garbage(b"\x03\x44", "no_start"),
        Frame(b"OK", raw=OK),
    ]
    assert framer.buffered == 0


def test_body_of_exactly_max_length_is_a_frame() -> None:
    framer = StxEtxFramer(max_length=4)
    wire = framer.encode(Frame(b"A012"))
    assert framer.feed(wire) == [Frame(b"A012", raw=wire)]
    with pytest.raises(ValueError, match="max_length"):
        framer.encode(Frame(b"A0123"))


def test_escaped_payload_with_every_special_byte() -> None:
    framer = StxEtxFramer(escape=True)
    # 02 10 03 -> 10 22 10 30 10 23; BCC = 02 ^ 10 ^ 03 ^ 03 = 12.
    wire = bytes.fromhex("02 10 22 10 30 10 23 03 12")
    assert framer.encode(Frame(b"\x02\x10\x03")) == wire
    assert framer.feed(wire) == [Frame(b"\x02\x10\x03", raw=wire)]


def test_malformed_escape_is_bad_escape() -> None:
    framer = StxEtxFramer(escape=True)
    for body in (b"\x10\x41", b"A\x10", b"\x10\x10\x30"):
        wire = b"\x02" + body + b"\x03\x00"
        assert framer.feed(wire) == [Garbage(wire, "bad_escape")]


def test_dle_is_plain_data_without_escape() -> None:
    wire = StxEtxFramer().encode(Frame(b"\x10A"))
    assert StxEtxFramer().feed(wire) == [Frame(b"\x10A", raw=wire)]


def test_unescaped_payload_may_not_hold_stx_or_etx() -> None:
    for payload in (b"\x02", b"A\x03B"):
        with pytest.raises(ValueError, match="escape"):
            StxEtxFramer().encode(Frame(payload))
    with pytest.raises(ValueError, match="address"):
        StxEtxFramer().encode(Frame(b"A", address=1))


def test_incomplete_frame_is_flushed() -> None:
    framer = StxEtxFramer()
    assert framer.feed(A012[:-1]) == []
    assert framer.flush() == [Garbage(A012[:-1], "truncated")]
    assert framer.feed(A012[-1:]) == [Garbage(b"\x71", "no_start")]


def test_params() -> None:
    framer = make_framer("stx_etx", escape=True, max_length=64)
    assert isinstance(framer, StxEtxFramer)
    assert (framer.escape, framer.max_length) == (True, 64)
    with pytest.raises(ValueError, match="'escape'"):
        make_framer("stx_etx", escape="yes")
    with pytest.raises(ValueError, match="'max_length'"):
        make_framer("stx_etx", max_length=0)
    with pytest.raises(ValueError, match="'bcc'"):
        make_framer("stx_etx", bcc="xor")
