"""Properties every serial framer must have, checked with hypothesis on each framing.

- arbitrary bytes, cut anywhere, never raise and never grow the buffer past its bound;
- encode -> feed gives the frame back, with `raw` equal to the encoded bytes;
- garbage + valid frame + garbage: the frame is found (unless a valid frame overlapping it
  was decoded from the garbage, which no framer could avoid);
- the stream cut into arbitrary chunks gives the same frames, and the same garbage bytes in
  the same places, as the stream fed whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.drivers.framing import Frame, Framer, Garbage, make_framer

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Case:
    """One framer configuration under test."""

    id: str
    make: Callable[[], Framer]
    frames: st.SearchStrategy[Frame]
    buffer_bound: int  # most bytes the framer may hold between feeds
    resync: bytes = b""  # what must follow garbage before a frame can be told apart (lines)
    padding: bytes = b""  # completes any frame still pending, and cannot start one
    overlapping: bool = True  # may a failed frame's garbage overlap later output?


def _dlt645_frames() -> st.SearchStrategy[Frame]:
    return st.builds(
        Frame,
        payload=st.binary(max_size=253),
        address=st.integers(0, 255),
        command=st.integers(0, 255),
    )


def _modbus_responses() -> st.SearchStrategy[Frame]:
    address = st.integers(1, 247)

    @st.composite
    def reads(draw: st.DrawFn) -> Frame:
        code = draw(st.integers(1, 4))
        count = draw(st.integers(1, 125)) * 2 if code >= 3 else draw(st.integers(1, 250))
        data = draw(st.binary(min_size=count, max_size=count))
        return Frame(bytes((count,)) + data, draw(address), code)

    writes = st.builds(
        Frame,
        payload=st.binary(min_size=4, max_size=4),
        address=address,
        command=st.sampled_from([5, 6, 15, 16]),
    )
    exceptions = st.builds(
        Frame,
        payload=st.binary(min_size=1, max_size=1),
        address=address,
        command=st.integers(0x81, 0xFF),
    )
    return st.one_of(reads(), writes, exceptions)


def _modbus_requests() -> st.SearchStrategy[Frame]:
    address = st.integers(0, 247)
    simple = st.builds(
        Frame,
        payload=st.binary(min_size=4, max_size=4),
        address=address,
        command=st.integers(1, 6),
    )

    @st.composite
    def multiple(draw: st.DrawFn) -> Frame:
        code = draw(st.sampled_from([15, 16]))
        quantity = draw(st.integers(1, 1968 if code == 15 else 123))
        count = (quantity + 7) // 8 if code == 15 else 2 * quantity
        start = draw(st.integers(0, 0xFFFF))
        data = draw(st.binary(min_size=count, max_size=count))
        payload = start.to_bytes(2, "big") + quantity.to_bytes(2, "big") + bytes((count,)) + data
        return Frame(payload, draw(address), code)

    return st.one_of(simple, multiple())


def _plain_stx_payloads(max_size: int) -> st.SearchStrategy[Frame]:
    return st.binary(max_size=max_size).map(
        lambda b: Frame(b.replace(b"\x02", b"").replace(b"\x03", b""))
    )


def _lines(delimiter: bytes, max_size: int) -> st.SearchStrategy[Frame]:
    return (
        st.binary(max_size=max_size)
        .filter(lambda b: (b + delimiter).find(delimiter) == len(b))
        .map(Frame)
    )


STATUS_BYTES = [b for b in range(256) if b & 0x93 == 0x12]

CASES = [
    Case("dlt645", lambda: make_framer("dlt645"), _dlt645_frames(), 265, padding=bytes(270)),
    Case(
        "modbus_master",
        lambda: make_framer("modbus_rtu", role="master"),
        _modbus_responses(),
        256,
        padding=bytes(260),
    ),
    Case(
        "modbus_slave",
        lambda: make_framer("modbus_rtu", role="slave"),
        _modbus_requests(),
        256,
        padding=b"\xff" * 260,
    ),
    Case("stx_etx", lambda: make_framer("stx_etx"), _plain_stx_payloads(300), 1026),
    Case(
        "stx_etx_short",
        lambda: make_framer("stx_etx", max_length=8),
        _plain_stx_payloads(8),
        10,
    ),
    Case(
        "stx_etx_escaped",
        lambda: make_framer("stx_etx", escape=True, max_length=200),
        st.binary(max_size=100).map(Frame),
        202,
    ),
    Case(
        "line",
        lambda: make_framer("line"),
        _lines(b"\r\n", 300),
        1025,
        resync=b"\r\n",
        overlapping=False,
    ),
    Case(
        "line_short",
        lambda: make_framer("line", delimiter="\n", max_length=8),
        _lines(b"\n", 8),
        8,
        resync=b"\n",
        overlapping=False,
    ),
    Case(
        "escpos_status",
        lambda: make_framer("escpos_status"),
        st.sampled_from(STATUS_BYTES).map(lambda b: Frame(bytes((b,)))),
        0,
        overlapping=False,
    ),
]


def cases(*, exclude: tuple[str, ...] = ()) -> pytest.MarkDecorator:
    """Parametrize a test over every framer case."""
    chosen = [c for c in CASES if c.id not in exclude]
    return pytest.mark.parametrize("case", chosen, ids=[c.id for c in chosen])


@st.composite
def streams(draw: st.DrawFn, case: Case) -> bytes:
    """Valid frames mixed with noise, truncated frames and frames with one byte changed."""
    framer = case.make()
    pieces = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["frame", "frame", "noise", "truncated", "corrupt"]))
        if kind == "noise":
            pieces.append(draw(st.binary(max_size=40)))
            continue
        wire = framer.encode(draw(case.frames))
        if kind == "truncated":
            wire = wire[: draw(st.integers(0, len(wire)))]
        elif kind == "corrupt":
            at = draw(st.integers(0, len(wire) - 1))
            wire = wire[:at] + bytes((wire[at] ^ draw(st.integers(1, 255)),)) + wire[at + 1 :]
        pieces.append(wire)
    return b"".join(pieces)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the given offsets."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def run(framer: Framer, chunks: list[bytes]) -> list[Frame | Garbage]:
    """Everything the framer says for these chunks, flush included."""
    out: list[Frame | Garbage] = []
    for chunk in chunks:
        out.extend(framer.feed(chunk))
    out.extend(framer.flush())
    return out


def merged(items: list[Frame | Garbage]) -> list[Frame | Garbage]:
    """Adjacent garbage of one reason merged: how it was grouped depends on the chunking."""
    out: list[Frame | Garbage] = []
    for item in items:
        last = out[-1] if out else None
        if isinstance(item, Garbage) and isinstance(last, Garbage) and last.reason == item.reason:
            out[-1] = Garbage(last.raw + item.raw, item.reason)
        else:
            out.append(item)
    return out


def frame_spans(case: Case, stream: bytes, items: list[Frame | Garbage]) -> list[tuple[int, int]]:
    """Where each decoded frame lies in the stream."""
    spans = []
    pos = 0
    for item in items:
        if case.overlapping:
            # Frames never overlap one another and come in order; garbage may overlap them.
            if isinstance(item, Frame):
                start = stream.find(item.raw, pos)
                assert start >= 0, "a frame's raw bytes must come from the stream, in order"
                pos = start + len(item.raw)
                spans.append((start, pos))
        else:
            # These framers cut the stream into consecutive pieces.
            assert stream.startswith(item.raw, pos)
            if isinstance(item, Frame):
                spans.append((pos, pos + len(item.raw)))
            pos += len(item.raw)
    return spans


@cases()
@SETTINGS
@given(data=st.data())
def test_arbitrary_bytes_never_raise_and_stay_bounded(case: Case, data: st.DataObject) -> None:
    stream = data.draw(st.binary(max_size=2000) | streams(case))
    cuts = data.draw(st.lists(st.integers(0, 4000), max_size=20))
    framer = case.make()
    for chunk in chunked(stream, cuts):
        for item in framer.feed(chunk):
            assert isinstance(item, Frame | Garbage)
            assert isinstance(item.raw, bytes) and item.raw
            if isinstance(item, Frame):
                # A decoded frame is one the framer would send, and reads back the same.
                # Its checks hold: encoding its fields gives its bytes back (DL/T645 aside
                # from how many wake-up bytes preceded it), and it reads back the same.
                again = case.make()
                wire = again.encode(Frame(item.payload, item.address, item.command))
                assert wire.lstrip(b"\xff") == item.raw.lstrip(b"\xff")
                assert again.feed(item.raw) == [item]
        assert framer.buffered <= case.buffer_bound  # type: ignore[attr-defined]
    assert all(isinstance(g, Garbage) and g.raw for g in framer.flush())
    assert framer.buffered == 0  # type: ignore[attr-defined]


@cases()
@SETTINGS
@given(data=st.data())
def test_encode_then_feed_round_trips(case: Case, data: st.DataObject) -> None:
    frame = data.draw(case.frames)
    framer = case.make()
    wire = framer.encode(frame)
    assert framer.feed(wire) == [Frame(frame.payload, frame.address, frame.command, wire)]
    assert framer.flush() == []


@cases()
@SETTINGS
@given(data=st.data())
def test_one_byte_at_a_time_round_trips(case: Case, data: st.DataObject) -> None:
    frames = data.draw(st.lists(case.frames, min_size=1, max_size=3))
    framer = case.make()
    wire = [framer.encode(f) for f in frames]
    out = run(framer, [bytes((b,)) for b in b"".join(wire)])
    assert out == [
        Frame(f.payload, f.address, f.command, w) for f, w in zip(frames, wire, strict=True)
    ]


@cases()
@SETTINGS
@given(data=st.data())
def test_frame_between_garbage_is_found(case: Case, data: st.DataObject) -> None:
    before = data.draw(st.binary(max_size=300) | streams(case))
    after = data.draw(st.binary(max_size=300) | streams(case))
    frame = data.draw(case.frames)
    framer = case.make()
    wire = framer.encode(frame)
    begin = len(before) + len(case.resync)
    end = begin + len(wire)
    stream = before + case.resync + wire + after + case.padding
    items = run(framer, chunked(stream, data.draw(st.lists(st.integers(0, 4000), max_size=8))))
    spans = frame_spans(case, stream, items)
    frames = [item for item in items if isinstance(item, Frame)]
    found = [
        f
        for f, (_, stop) in zip(frames, spans, strict=True)
        if stop == end
        and (f.payload, f.address, f.command) == (frame.payload, frame.address, frame.command)
    ]
    if not found:
        # Only a valid frame decoded across it may hide it.
        assert any(a < end and b > begin for a, b in spans), items


@cases()
@SETTINGS
@given(data=st.data())
def test_chunking_does_not_change_the_output(case: Case, data: st.DataObject) -> None:
    stream = data.draw(streams(case) | st.binary(max_size=600))
    cuts = data.draw(st.lists(st.integers(0, 4000), max_size=30))
    whole = run(case.make(), [stream])
    pieces = run(case.make(), chunked(stream, cuts))
    assert merged(pieces) == merged(whole)
    assert [i for i in pieces if isinstance(i, Frame)] == [i for i in whole if isinstance(i, Frame)]


@cases()
@SETTINGS
@given(data=st.data())
def test_valid_frames_back_to_back_give_no_garbage(case: Case, data: st.DataObject) -> None:
    frames = data.draw(st.lists(case.frames, max_size=8))
    framer = case.make()
    wire = [framer.encode(f) for f in frames]
    out = run(framer, chunked(b"".join(wire), data.draw(st.lists(st.integers(0, 4000)))))
    assert [i.raw for i in out] == wire
    assert all(isinstance(i, Frame) for i in out)


@cases(exclude=("line", "line_short"))
@SETTINGS
@given(data=st.data())
def test_bytes_that_cannot_start_a_frame_are_one_garbage(case: Case, data: st.DataObject) -> None:
    # Bytes no framing here can start with (line excepted: every byte starts a line).
    noise = data.draw(st.binary(min_size=1, max_size=200).map(lambda b: b.translate(_NEUTRAL)))
    frame = data.draw(case.frames)
    framer = case.make()
    wire = framer.encode(frame)
    out = framer.feed(noise + wire)
    reason = "bad_status_bits" if case.id == "escpos_status" else "no_start"
    assert out == [Garbage(noise, reason), Frame(frame.payload, frame.address, frame.command, wire)]


# Map every byte onto 0xF8..0xFE: no 68, STX or FF, above every Modbus address, and with
# bit 7 set, so never an ESC/POS status byte.
_NEUTRAL = bytes((0xF8 + b % 7) if b % 2 else 0xF9 for b in range(256))


@cases()
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_every_single_cut_gives_the_same_output(case: Case, data: st.DataObject) -> None:
    # Failed frames straddling a cut are where state carried between feeds matters most.
    framer = case.make()
    wire = [framer.encode(f) for f in data.draw(st.lists(case.frames, min_size=2, max_size=3))]
    broken = bytearray(wire[0])
    broken[-1] ^= 0x5A  # end byte, CRC, BCC, delimiter or status bits
    noise = data.draw(st.binary(max_size=12))
    stream = bytes(broken) + noise + wire[0] + noise + b"".join(wire[1:]) + case.padding
    whole = merged(run(case.make(), [stream]))
    for cut in range(len(stream) + 1):
        assert merged(run(case.make(), [stream[:cut], stream[cut:]])) == whole, cut


@cases(exclude=("line", "line_short", "escpos_status"))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_single_bit_error_is_caught(case: Case, data: st.DataObject) -> None:
    # The framings with a check (checksum, CRC, BCC, length, end byte) never hand back a frame
    # with one bit flipped. (A flip may still reveal a shorter valid frame, e.g. a byte turned
    # into STX starts a new STX/ETX frame; that one is checked like any other.) DL/T645's
    # wake-up byte is outside the check, so it is left alone.
    frame = data.draw(case.frames)
    framer = case.make()
    wire = framer.encode(frame)
    original = (frame.payload, frame.address, frame.command)
    first = 1 if case.id == "dlt645" else 0
    # Every byte of the header and of the check, and the first data bytes: a long body's
    # middle adds run time, not cases (the check treats every data byte alike).
    places = sorted(
        {*range(first, min(len(wire), 24)), *range(max(first, len(wire) - 8), len(wire))}
    )
    for at in places:
        for bit in range(8):
            bad = bytearray(wire)
            bad[at] ^= 1 << bit
            for item in run(case.make(), [bytes(bad)]):
                if isinstance(item, Frame):
                    assert (item.payload, item.address, item.command) != original, (at, bit)
                    fields = Frame(item.payload, item.address, item.command)
                    assert framer.encode(fields).lstrip(b"\xff") == item.raw.lstrip(b"\xff")
