"""DL/T645-style frames of the callers and rating pads, with hand-written bytes."""

from __future__ import annotations

import random

import pytest

from edge.drivers.framing import Dlt645Framer, Frame, Garbage, make_framer

# Caller at address 05 presses "call next" (key 0C in the last data byte); CS = 05+01+0C.
CALL_NEXT = bytes.fromhex("FF 68 03 03 68 05 01 0C 12 16")
# Rating pad at address 07 sends a rating (cmd 11), key index 4; no wake-up byte; CS = 1C.
RATING = bytes.fromhex("68 03 03 68 07 11 04 1C 16")


def feed_all(framer: Dlt645Framer, data: bytes) -> list[Frame | Garbage]:
    return framer.feed(data) + framer.flush()


def test_call_next_key_from_a_caller() -> None:
    assert feed_all(Dlt645Framer(), CALL_NEXT) == [Frame(b"\x0c", 0x05, 0x01, CALL_NEXT)]


def test_rating_without_wake_up_byte() -> None:
    assert feed_all(Dlt645Framer(), RATING) == [Frame(b"\x04", 0x07, 0x11, RATING)]


def test_encode_gives_the_hand_written_bytes() -> None:
    framer = Dlt645Framer()
    assert framer.encode(Frame(b"\x0c", 0x05, 0x01)) == CALL_NEXT
    assert framer.encode(Frame(b"\x04", 0x07, 0x11)) == b"\xff" + RATING
    # No data: L = 2, CS = addr + cmd.
    assert framer.encode(Frame(b"", 0x01, 0x02)) == bytes.fromhex("FF 68 02 02 68 01 02 03 16")


def test_two_frames_back_to_back_and_split_anywhere() -> None:
    stream = CALL_NEXT + RATING
    expected = [Frame(b"\x0c", 5, 1, CALL_NEXT), Frame(b"\x04", 7, 0x11, RATING)]
    for cut in range(len(stream) + 1):
        framer = Dlt645Framer()
        assert framer.feed(stream[:cut]) + framer.feed(stream[cut:]) == expected


def test_wake_up_bytes_beyond_four_are_garbage() -> None:
    out = feed_all(Dlt645Framer(), b"\xff" * 6 + RATING)
    assert out == [Garbage(b"\xff\xff", "no_start"), Frame(b"\x04", 7, 0x11, b"\xff" * 4 + RATING)]


def test_wake_up_bytes_arriving_alone_are_kept_for_the_frame() -> None:
    framer = Dlt645Framer()
    assert framer.feed(b"\x00\xff\xff") == [Garbage(b"\x00", "no_start")]
    assert framer.buffered == 2
    assert framer.feed(RATING) == [Frame(b"\x04", 7, 0x11, b"\xff\xff" + RATING)]


def test_noise_before_a_frame_is_one_garbage() -> None:
    out = feed_all(Dlt645Framer(), b"\x00\x13\x68\x99\x16" + CALL_NEXT)
    assert out == [Garbage(b"\x00\x13\x68\x99\x16", "no_start"), Frame(b"\x0c", 5, 1, CALL_NEXT)]


def test_bad_checksum_is_reported_with_its_bytes() -> None:
    bad = bytes.fromhex("68 03 03 68 07 11 04 1D 16")
    assert feed_all(Dlt645Framer(), bad + RATING) == [
        Garbage(bad, "bad_checksum"),
        Frame(b"\x04", 7, 0x11, RATING),
    ]


def test_bad_end_byte() -> None:
    bad = bytes.fromhex("68 03 03 68 07 11 04 1C 17")
    assert feed_all(Dlt645Framer(), bad) == [Garbage(bad, "bad_end")]


@pytest.mark.parametrize("header", ["68 03 04 68", "68 01 01 68", "68 00 00 68"])
def test_bad_length_reports_the_header(header: str) -> None:
    raw = bytes.fromhex(header)
    assert feed_all(Dlt645Framer(), raw + RATING) == [
        Garbage(raw, "bad_length"),
        Frame(b"\x04", 7, 0x11, RATING),
    ]


def test_frame_hidden_in_a_failed_frame_is_found_and_not_reported_twice() -> None:
    # An outer header claiming 12 bytes swallows a whole caller frame; its checksum fails.
    body = bytes((0x30, 0x31)) + CALL_NEXT
    outer = bytes.fromhex("68 0C 0C 68") + body + bytes.fromhex("00 16")
    assert feed_all(Dlt645Framer(), outer + b"\x01") == [
        Garbage(outer, "bad_checksum"),
        Frame(b"\x0c", 5, 1, CALL_NEXT),
        Garbage(b"\x01", "no_start"),  # the outer frame's 00 16 were reported already
    ]


def test_incomplete_frame_is_flushed_as_truncated() -> None:
    framer = Dlt645Framer()
    assert framer.feed(CALL_NEXT[:7]) == []
    assert framer.buffered == 7
    assert framer.flush() == [Garbage(CALL_NEXT[:7], "truncated")]
    assert framer.buffered == 0
    assert framer.feed(CALL_NEXT) == [Frame(b"\x0c", 5, 1, CALL_NEXT)]


def test_buffer_stays_bounded_on_endless_noise() -> None:
    noise = random.Random(645).randbytes(50_000).replace(b"\x16", b"\x00")
    framer = Dlt645Framer()
    seen = 0
    for at in range(0, len(noise), 97):
        out = framer.feed(noise[at : at + 97])
        assert framer.buffered <= 265
        seen += len(out)
    assert seen > 0
    assert not [i for i in framer.flush() if isinstance(i, Frame)]


def test_longest_frame() -> None:
    framer = Dlt645Framer()
    wire = framer.encode(Frame(bytes(range(253)), 0xFF, 0xFF))
    assert wire[2] == wire[3] == 0xFF
    assert framer.feed(wire) == [Frame(bytes(range(253)), 0xFF, 0xFF, wire)]


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        (Frame(b"", None, 1), "address"),
        (Frame(b"", 256, 1), "address"),
        (Frame(b"", 1, None), "command"),
        (Frame(b"", 1, -1), "command"),
        (Frame(bytes(254), 1, 1), "253"),
    ],
)
def test_encode_refuses_what_cannot_be_sent(frame: Frame, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        Dlt645Framer().encode(frame)


def test_made_by_name() -> None:
    framer = make_framer("dlt645")
    assert isinstance(framer, Dlt645Framer) and framer.name == "dlt645"
