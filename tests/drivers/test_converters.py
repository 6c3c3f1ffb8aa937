"""The named converters and encoders: pure functions, tested with frames and values."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.drivers.args import check_args
from edge.drivers.converters import (
    FRAME_CONVERTERS,
    DeviceContext,
    bind_encoder,
    bind_frame_converter,
)
from edge.drivers.framing import Frame
from edge.drivers.profile_schema import ArgSpec
from edge.errors import CommandError, ConfigError, PayloadError

CTX = DeviceContext("caller-3", {"address": 3, "counter": 3}, "gb18030")
KEYS = {"keys": {0x0C: "call_next", 0x13: "transfer", 0x0B: "finish"}}


def test_caller_key_reads_the_last_byte_and_the_press_number() -> None:
    convert = bind_frame_converter("caller_key", KEYS)
    d = convert(Frame(bytes([7, 0x0C]), 3, 0x01), CTX)
    assert d is not None and d.type == "counter.action"
    assert d.data == {
        "counter": 3,
        "action": "call_next",
        "to_counter": None,
        "press_id": "caller-3:7",
    }
    t = convert(Frame(bytes([8, 5, 0x13]), 3, 0x01), CTX)
    assert t is not None and t.data["action"] == "transfer" and t.data["to_counter"] == 5


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (bytes([1, 0x55]), "unknown_key"),
        (bytes([0x0C]), "bad_length"),
        (bytes([1, 0x13]), "bad_length"),
    ],
)
def test_caller_key_refuses_what_it_cannot_read(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as e:
        bind_frame_converter("caller_key", KEYS)(Frame(payload, 3, 1), CTX)
    assert e.value.reason == reason


def test_rating_key_maps_key_index_to_level() -> None:
    convert = bind_frame_converter("rating_key", {})
    levels = [convert(Frame(bytes([i, 9]), 21, 0x11), CTX).data["level"] for i in range(5)]  # type: ignore[union-attr]
    assert levels == [5, 4, 3, 2, 1]
    with pytest.raises(PayloadError, match="unknown_key"):
        convert(Frame(bytes([5]), 21, 0x11), CTX)
    with pytest.raises(ConfigError, match="levels"):
        bind_frame_converter("rating_key", {"levels": [6]}, "p.yaml", "frames[0].converter")


def test_modbus_rating_reads_the_register_and_nothing_when_zero() -> None:
    convert = bind_frame_converter("modbus_rating", {})
    assert convert(Frame(bytes([4, 0, 0, 0, 7]), 1, 3), CTX) is None
    d = convert(Frame(bytes([4, 0, 2, 0, 8]), 1, 3), CTX)
    assert d is not None and d.data == {"counter": 3, "level": 4}
    with pytest.raises(PayloadError, match="bad_length"):
        convert(Frame(bytes([4, 0, 2]), 1, 3), CTX)


def test_text_fields_maps_codes_and_sets_the_source_id() -> None:
    convert = bind_frame_converter(
        "text_fields",
        {
            "event": "queue.ticket.requested",
            "tag": "REQ",
            "fields": ["request_id", "service", "priority"],
            "maps": {"service": {"01": "payment"}, "priority": {"0": "normal"}},
            "constants": {"channel": "kiosk"},
            "source_id": "request_id",
        },
    )
    d = convert(Frame(b"REQ,K1-7,01,0"), CTX)
    assert d is not None and d.source_id == "caller-3:K1-7"
    assert d.data == {
        "channel": "kiosk",
        "request_id": "K1-7",
        "service": "payment",
        "priority": "normal",
    }
    for bad, reason in (
        (b"REQ,K1-7,99,0", "unknown_value"),
        (b"XYZ,1,01,0", "unexpected_tag"),
        (b"REQ,1", "bad_field_count"),
    ):
        with pytest.raises(PayloadError) as e:
            convert(Frame(bad), CTX)
        assert e.value.reason == reason
    with pytest.raises(PayloadError, match="bad_text"):
        bind_frame_converter("text_fields", {"event": "x", "fields": ["a"]})(
            Frame(b"\xff\xff"), DeviceContext("d", {}, "utf-8")
        )


def test_binary_fields_reads_integers_text_and_bcd() -> None:
    convert = bind_frame_converter(
        "binary_fields",
        {
            "event": "x.y",
            "fields": [
                {"name": "n", "offset": 0, "format": "u16be"},
                {"name": "code", "offset": 2, "format": "ascii", "length": 3},
                {"name": "bcd", "offset": 5, "format": "bcd", "length": 2},
                {"name": "kind", "offset": 7, "map": {1: "a", 2: "b"}},
            ],
            "none_when_zero": "n",
        },
    )
    d = convert(Frame(b"\x01\x02ABC\x12\x34\x02"), CTX)
    assert d is not None and d.data == {"n": 258, "code": "ABC", "bcd": 1234, "kind": "b"}
    assert convert(Frame(b"\x00\x00ABC\x12\x34\x02"), CTX) is None
    with pytest.raises(PayloadError, match="bad_length"):
        convert(Frame(b"\x01"), CTX)


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=40), command=st.integers(0, 255))
def test_frame_converters_raise_only_payload_errors(payload: bytes, command: int) -> None:
    params: dict[str, dict[str, Any]] = {
        "caller_key": KEYS,
        "text_fields": {"event": "e", "fields": ["a", "b"], "maps": {"b": {"1": 1}}, "ints": ["a"]},
        "binary_fields": {
            "event": "e",
            "fields": [{"name": "a", "offset": 1, "format": "bcd", "length": 2}],
        },
    }
    for name in FRAME_CONVERTERS:
        convert = bind_frame_converter(name, params.get(name, {}))
        with contextlib.suppress(PayloadError):
            convert(Frame(payload, 1, command), CTX)


def test_text_encoder_renders_in_the_profile_encoding() -> None:
    encode = bind_encoder("text", {"template": "D|{ticket_no}|{counter}|{text}"})
    (frame,) = encode({"ticket_no": "A012", "counter": 3, "text": "请A012号到3号窗口"}, CTX, None)
    assert isinstance(frame, Frame)
    assert frame.payload == "D|A012|3|请A012号到3号窗口".encode("gb18030")
    with pytest.raises(CommandError) as e:
        encode({"ticket_no": "A1"}, CTX, None)
    assert e.value.code == 400 and "counter" in e.value.msg
    with pytest.raises(CommandError, match="cannot be sent as ascii"):
        encode(
            {"ticket_no": "A1", "counter": 1, "text": "请"}, DeviceContext("d", {}, "ascii"), None
        )


def test_binary_frame_packs_fields_to_the_device_address() -> None:
    encode = bind_encoder(
        "binary_frame",
        {
            "command": 0x21,
            "fields": [
                {"arg": "text", "format": "ascii", "length": 8},
                {"value": 513, "format": "u16be"},
            ],
        },
    )
    (frame,) = encode({"text": "A012"}, CTX, None)
    assert frame == Frame(b"A012    \x02\x01", 3, 0x21)
    with pytest.raises(CommandError, match="longer than 8"):
        encode({"text": "A0123456789"}, CTX, None)
    with pytest.raises(CommandError, match="missing argument text"):
        encode({}, CTX, None)
    with pytest.raises(ConfigError, match="either"):
        bind_encoder("binary_frame", {"fields": [{"format": "u8"}]}, "p.yaml", "commands.x.encoder")


def test_echo_and_raw_hex() -> None:
    got = Frame(b"\x07\x0c", 3, 1, raw=b"\xff\x68...")
    assert bind_encoder("echo", {})({}, CTX, got) == [Frame(b"\x07\x0c", 3, 1)]
    assert bind_encoder("raw_hex", {"hex": "10 04 01"})({}, CTX, None) == [b"\x10\x04\x01"]
    with pytest.raises(ConfigError, match="hex"):
        bind_encoder("raw_hex", {"hex": "zz"}, "p.yaml", "poll.encoder")


def test_escpos_invoice_in_gb18030_with_chinese_mode_and_cut() -> None:
    encode = bind_encoder("escpos_invoice", {"columns": 32})
    (job,) = encode(
        {
            "invoice_no": "00012345",
            "amount_cents": 12850,
            "buyer": "张三",
            "qr": "https://e.invoice/1",
        },
        CTX,
        None,
    )
    assert isinstance(job, bytes)
    assert job.startswith(b"\x1c\x26")  # FS &: Chinese mode first
    assert "发票号码: 00012345".encode("gb18030") in job
    assert "￥128.50".encode("gb18030") in job
    assert b"\x1d(k" in job  # the QR code, native
    assert job.rstrip(b"\x00").endswith(b"\x1dV")  # cut
    (utf8,) = bind_encoder("escpos_invoice", {"chinese_mode": False, "cut": False})(
        {"invoice_no": "1", "amount_cents": 1}, DeviceContext("p", {}, "utf-8"), None
    )
    assert isinstance(utf8, bytes)
    assert b"\x1c\x26" not in utf8 and "电费".encode() in utf8 and b"\x1dV" not in utf8
    with pytest.raises(CommandError, match="amount_cents"):
        encode({"invoice_no": "1", "amount_cents": "12"}, CTX, None)
    with pytest.raises(CommandError, match="items"):
        encode({"invoice_no": "1", "amount_cents": 1, "items": [{"name": "x"}]}, CTX, None)


def test_check_args_fills_defaults_templates_and_refuses_bad_ones() -> None:
    specs = {
        "ticket_no": ArgSpec(type="str"),
        "counter": ArgSpec(type="int", min=1, max=99),
        "text": ArgSpec(type="str", required=False, default="请{ticket_no}号到{counter}号窗口"),
        "volume": ArgSpec(type="int", required=False, default=80),
    }
    args = check_args(specs, {"ticket_no": "A012", "counter": 3}, "display.show_call")
    assert args == {"ticket_no": "A012", "counter": 3, "text": "请A012号到3号窗口", "volume": 80}
    for bad_args, words in (
        ({"counter": 3}, "needs argument ticket_no"),
        ({"ticket_no": "A", "counter": 100}, "at most 99"),
        ({"ticket_no": "A", "counter": True}, "type int"),
        ({"ticket_no": "A", "counter": 1, "colour": "red"}, "takes no argument colour"),
    ):
        with pytest.raises(CommandError) as e:
            check_args(specs, bad_args, "display.show_call")
        assert e.value.code == 400 and words in e.value.msg
    assert "colour" not in check_args(
        specs, {"ticket_no": "A", "counter": 1, "colour": "r"}, "x", "ignore"
    )


def test_an_integral_float_is_accepted_as_an_int_argument() -> None:
    specs = {"timeout_s": ArgSpec(type="int", min=5, max=255)}
    assert check_args(specs, {"timeout_s": 20.0}, "rating.start") == {"timeout_s": 20}
    try:
        check_args(specs, {"timeout_s": 20.5}, "rating.start")
    except CommandError as exc:
        assert exc.code == 400 and "int" in exc.msg
    else:
        raise AssertionError("20.5 is not an int")
