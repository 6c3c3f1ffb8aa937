"""Text lines: delimiter, over-long lines, chunking."""

from __future__ import annotations

import pytest

from edge.drivers.framing import Frame, Garbage, LineFramer, make_framer


def line(text: bytes, delimiter: bytes = b"\r\n") -> Frame:
    return Frame(text, raw=text + delimiter)


def test_lines_with_crlf() -> None:
    framer = LineFramer()
    assert framer.feed(b"TICKET A012 payment\r\nRATING 5\r\n\r\nrest") == [
        line(b"TICKET A012 payment"),
        line(b"RATING 5"),
        line(b""),
    ]
    assert framer.buffered == 4
    assert framer.flush() == [Garbage(b"rest", "truncated")]


def test_bytes_are_kept_undecoded() -> None:
    text = "请A012号到3号窗口".encode("gb18030")
    assert LineFramer().feed(text + b"\r\n") == [line(text)]


def test_delimiter_split_across_feeds() -> None:
    framer = LineFramer()
    assert framer.feed(b"A012\r") == []
    assert framer.feed(b"\nB") == [line(b"A012")]
    assert framer.feed(b"\r\r\n") == [line(b"B\r")]  # a lone CR is part of the line


def test_line_of_max_length_is_a_frame_and_one_more_is_too_long() -> None:
    framer = LineFramer(max_length=4)
    assert framer.feed(b"1234\r\n12345\r\nok\r\n") == [
        line(b"1234"),
        Garbage(b"12345\r\n", "too_long"),
        line(b"ok"),
    ]


def test_too_long_line_is_dropped_while_it_arrives() -> None:
    framer = LineFramer(delimiter=b"\n", max_length=4)
    assert framer.feed(b"abcd") == []  # may still be "abcd\n"
    assert framer.buffered == 4
    assert framer.feed(b"efgh") == [Garbage(b"abcdefgh", "too_long")]  # five bytes, no \n
    assert framer.buffered == 0
    assert framer.feed(b"ij\nok\n") == [Garbage(b"ij\n", "too_long"), line(b"ok", b"\n")]


def test_too_long_line_keeps_a_possible_delimiter_start() -> None:
    framer = LineFramer(max_length=2)
    assert framer.feed(b"abcd\r") == [Garbage(b"abcd", "too_long")]
    assert framer.buffered == 1
    assert framer.flush() == [Garbage(b"\r", "too_long")]
    assert framer.feed(b"ok\r\n") == [line(b"ok")]


def test_buffer_is_bounded() -> None:
    framer = LineFramer(max_length=100)
    for _ in range(1000):
        framer.feed(b"x" * 37)
        assert framer.buffered <= 101


def test_encode() -> None:
    assert LineFramer().encode(Frame(b"A012")) == b"A012\r\n"
    assert LineFramer(delimiter="\n").encode(Frame(b"A\r")) == b"A\r\n"
    with pytest.raises(ValueError, match="delimiter"):
        LineFramer().encode(Frame(b"A\r\nB"))
    with pytest.raises(ValueError, match="delimiter"):
        LineFramer(delimiter=b"aa").encode(Frame(b"xa"))  # xa+aa would read as x
    with pytest.raises(ValueError, match="max_length"):
        LineFramer(max_length=2).encode(Frame(b"abc"))
    with pytest.raises(ValueError, match="address"):
        LineFramer().encode(Frame(b"abc", command=1))


def test_params() -> None:
    framer = make_framer("line", delimiter="\n", max_length=80)
    assert isinstance(framer, LineFramer)
    assert (framer.delimiter, framer.max_length) == (b"\n", 80)
    assert make_framer("line", delimiter=b";").feed(b"a;") == [line(b"a", b";")]
    for bad in ({"delimiter": ""}, {"delimiter": 10}, {"max_length": True}, {"max_length": -1}):
        key = next(iter(bad))
        with pytest.raises(ValueError, match=f"'{key}'"):
            make_framer("line", **bad)
    with pytest.raises(ValueError, match="'encoding'"):
        make_framer("line", encoding="utf-8")
