"""Frame converters: one received frame -> one event (or nothing). Pure functions.

A converter raises PayloadError for a frame it cannot read (unknown key, bad length); the
driver dead-letters that frame with the reason and goes on.
"""

from __future__ import annotations

import struct
from typing import Any, Literal

import msgspec

from edge.config.hub import Section
from edge.drivers.converters.base import Decoded, DeviceContext, frame_converter
from edge.drivers.framing import Frame
from edge.errors import PayloadError

CounterAction = Literal["call_next", "recall", "finish", "pause", "resume", "transfer", "no_show"]


def _counter(ctx: DeviceContext) -> Any:
    # A caller or pad belongs to a counter; by default its bus address is the counter number.
    counter = ctx.settings.get("counter")
    return counter if counter is not None else ctx.settings.get("address")


class CallerKeyParams(Section, frozen=True, kw_only=True):
    keys: dict[int, CounterAction]
    # data[0] is the caller's rolling press number (0-255), repeated when it resends.
    sequence: bool = True


@frame_converter("caller_key", CallerKeyParams)
def caller_key(frame: Frame, ctx: DeviceContext, p: CallerKeyParams) -> Decoded | None:
    """Counter caller key press: key code in the last data byte -> counter.action."""
    data = frame.payload
    need = 2 if p.sequence else 1
    if len(data) < need:
        raise PayloadError("bad_length", f"caller frame with {len(data)} data bytes")
    key = data[-1]
    action = p.keys.get(key)
    if action is None:
        raise PayloadError("unknown_key", f"caller key 0x{key:02X}")
    to_counter: int | None = None
    if action == "transfer":
        if len(data) < need + 1:
            raise PayloadError("bad_length", "transfer key without a target counter")
        to_counter = data[-2]
    press_id = f"{ctx.device_id}:{data[0]}" if p.sequence else None
    return Decoded(
        "counter.action",
        {
            "counter": _counter(ctx),
            "action": action,
            "to_counter": to_counter,
            "press_id": press_id,
        },
    )


def _level(index: int, levels: list[int]) -> int:
    if not 0 <= index < len(levels):
        raise PayloadError("unknown_key", f"rating key index {index}")
    return levels[index]


def _check_levels(levels: list[int]) -> None:
    if not levels or any(not 1 <= v <= 5 for v in levels):
        raise ValueError("`levels` to be a list of rating levels from 1 to 5")


class RatingKeyParams(Section, frozen=True, kw_only=True):
    # Key index (data[0], 0 = leftmost key) -> level; 5 非常满意 ... 1 非常不满意.
    levels: list[int] = msgspec.field(default_factory=lambda: [5, 4, 3, 2, 1])

    def __post_init__(self) -> None:
        _check_levels(self.levels)


@frame_converter("rating_key", RatingKeyParams)
def rating_key(frame: Frame, ctx: DeviceContext, p: RatingKeyParams) -> Decoded | None:
    """Rating pad key: key index in data[0] -> rating.submitted with its level."""
    if not frame.payload:
        raise PayloadError("bad_length", "rating frame without data")
    level = _level(frame.payload[0], p.levels)
    return Decoded("rating.submitted", {"counter": _counter(ctx), "level": level})


class ModbusRatingParams(Section, frozen=True, kw_only=True):
    # Index of the register (within the block read by the poll) holding the pressed key:
    # 0 = nothing pending, 1 = first key ... The host clears it as the acknowledgement.
    register: int = 0
    levels: list[int] = msgspec.field(default_factory=lambda: [5, 4, 3, 2, 1])

    def __post_init__(self) -> None:
        _check_levels(self.levels)


@frame_converter("modbus_rating", ModbusRatingParams)
def modbus_rating(frame: Frame, ctx: DeviceContext, p: ModbusRatingParams) -> Decoded | None:
    """Modbus holding-register read answer -> rating.submitted, or nothing when 0."""
    data = frame.payload
    if not data or data[0] != len(data) - 1 or data[0] % 2:
        raise PayloadError("bad_length", f"register answer of {len(data)} bytes")
    offset = 1 + 2 * p.register
    if len(data) < offset + 2:
        raise PayloadError("bad_length", f"answer lacks register {p.register}")
    (value,) = struct.unpack_from(">H", data, offset)
    if value == 0:
        return None
    return Decoded(
        "rating.submitted", {"counter": _counter(ctx), "level": _level(value - 1, p.levels)}
    )


class TextFieldsParams(Section, frozen=True, kw_only=True):
    event: str
    fields: list[str]  # names of the fields after the tag, in order; "_" skips one
    separator: str = ","
    tag: str | None = None  # the first field must be this (and is not an event field)
    ints: list[str] = msgspec.field(default_factory=list)
    # Raw text -> value, per field; keys are compared as text (quote codes like "01" in YAML).
    maps: dict[str, dict[Any, Any]] = msgspec.field(default_factory=dict)
    constants: dict[str, Any] = msgspec.field(default_factory=dict)
    source_id: str | None = None  # the field that is the device's unique id of the message
    optional_from: int | None = None  # fields from this index on may be missing


def _text(frame: Frame, encoding: str) -> str:
    try:
        return frame.payload.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise PayloadError("bad_text", f"not {encoding} text") from None


@frame_converter("text_fields", TextFieldsParams)
def text_fields(frame: Frame, ctx: DeviceContext, p: TextFieldsParams) -> Decoded | None:
    """Delimited text (a line, or an STX/ETX payload) -> named event fields."""
    parts = _text(frame, ctx.encoding).split(p.separator)
    if p.tag is not None:
        if parts[0] != p.tag:
            raise PayloadError("unexpected_tag", parts[0][:16])
        parts = parts[1:]
    least = len(p.fields) if p.optional_from is None else p.optional_from
    if not least <= len(parts) <= len(p.fields):
        raise PayloadError("bad_field_count", f"{len(parts)} fields, expected {len(p.fields)}")
    data: dict[str, Any] = dict(p.constants)
    for name, raw in zip(p.fields, parts, strict=False):
        if name == "_":
            continue
        value: Any = raw.strip()
        if name in p.maps:
            table = {str(k): v for k, v in p.maps[name].items()}
            if value not in table:
                raise PayloadError("unknown_value", f"{name}={value}")
            value = table[value]
        elif name in p.ints:
            try:
                value = int(value)
            except ValueError:
                raise PayloadError("bad_number", f"{name}={value}") from None
        data[name] = value
    for name in p.fields[len(parts) :]:
        if name != "_":
            data.setdefault(name, None)
    source = data.get(p.source_id) if p.source_id else None
    return Decoded(p.event, data, None if source is None else f"{ctx.device_id}:{source}")


BinaryFormat = Literal["u8", "u16be", "u16le", "u32be", "u32le", "ascii", "hex", "bcd"]
_STRUCT = {"u8": ">B", "u16be": ">H", "u16le": "<H", "u32be": ">I", "u32le": "<I"}


class BinaryField(Section, frozen=True, kw_only=True):
    name: str
    offset: int
    format: BinaryFormat = "u8"
    length: int = 1  # for ascii, hex and bcd
    map: dict[Any, Any] | None = None  # keys compared as text
    scale: float | None = None


class BinaryFieldsParams(Section, frozen=True, kw_only=True):
    event: str
    fields: list[BinaryField]
    constants: dict[str, Any] = msgspec.field(default_factory=dict)
    source_id: str | None = None
    # When this field reads 0 the frame carries nothing to report (an idle poll answer).
    none_when_zero: str | None = None


def read_field(data: bytes, f: BinaryField) -> Any:
    """One field of a binary payload; PayloadError if the payload is too short."""
    size = struct.calcsize(_STRUCT[f.format]) if f.format in _STRUCT else f.length
    if f.offset < 0 or len(data) < f.offset + size:
        raise PayloadError("bad_length", f"field {f.name} beyond {len(data)} data bytes")
    chunk = data[f.offset : f.offset + size]
    value: Any
    if f.format in _STRUCT:
        (value,) = struct.unpack(_STRUCT[f.format], chunk)
    elif f.format == "ascii":
        value = chunk.decode("ascii", "replace").rstrip(" \x00")
    elif f.format == "hex":
        value = chunk.hex().upper()
    else:
        digits = chunk.hex()
        if not digits.isdigit():
            raise PayloadError("bad_bcd", f"field {f.name}")
        value = int(digits)
    if f.scale is not None and isinstance(value, int):
        value = value * f.scale
    if f.map is not None:
        table = {str(k): v for k, v in f.map.items()}
        key = str(value)
        if key not in table:
            raise PayloadError("unknown_value", f"{f.name}={key}")
        value = table[key]
    return value


@frame_converter("binary_fields", BinaryFieldsParams)
def binary_fields(frame: Frame, ctx: DeviceContext, p: BinaryFieldsParams) -> Decoded | None:
    """Fixed-offset binary payload -> named event fields (integers, ASCII, BCD, value maps)."""
    data: dict[str, Any] = dict(p.constants)
    for f in p.fields:
        data[f.name] = read_field(frame.payload, f)
    if p.none_when_zero is not None and data.get(p.none_when_zero) in (0, "0"):
        return None
    source = data.get(p.source_id) if p.source_id else None
    return Decoded(p.event, data, None if source is None else f"{ctx.device_id}:{source}")


class IgnoreParams(Section, frozen=True, kw_only=True):
    pass


@frame_converter("ignore", IgnoreParams)
def ignore(frame: Frame, ctx: DeviceContext, p: IgnoreParams) -> Decoded | None:
    """A frame that is expected but carries no event (heartbeats, idle answers)."""
    return None
