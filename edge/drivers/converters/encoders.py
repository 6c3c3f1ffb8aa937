"""Encoders: values (command arguments, acknowledged event data, nothing for a poll) -> frames.

The driver passes the device settings and the values merged (values win), so a template
may use `{address}` or `{counter}` as well as the command's own arguments.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from edge.config.hub import Section
from edge.drivers.converters.base import (
    DeviceContext,
    Outgoing,
    encoder,
    template_names,
)
from edge.drivers.framing import Frame
from edge.errors import CommandError
from edge.model import BAD_ARGS


def render(template: str, values: Mapping[str, Any]) -> str:
    """`str.format` over the values; a missing or ill-typed value is a 400."""
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise CommandError(BAD_ARGS, f"missing argument {exc.args[0]}") from None
    except (ValueError, TypeError, IndexError) as exc:
        raise CommandError(BAD_ARGS, f"bad argument for {template!r}: {exc}") from None


def encode_text(text: str, encoding: str) -> bytes:
    """Text in the device's encoding; a character it cannot show is a 400, not a '?'."""
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise CommandError(
            BAD_ARGS, f"{text[exc.start : exc.end]!r} cannot be sent as {encoding}"
        ) from None


class EchoParams(Section, frozen=True, kw_only=True):
    pass


@encoder("echo", EchoParams)
def echo(
    values: Mapping[str, Any], ctx: DeviceContext, p: EchoParams, frame: Frame | None
) -> list[Outgoing]:
    """Acknowledge a frame by sending it back unchanged (DL/T645-style buses)."""
    if frame is None:
        raise CommandError(BAD_ARGS, "echo acknowledges a received frame; there is none")
    return [Frame(payload=frame.payload, address=frame.address, command=frame.command)]


class TextParams(Section, frozen=True, kw_only=True):
    template: str
    command: int | None = None  # for framings with a command byte


@encoder("text", TextParams, lambda p: template_names(p.template))
def text(
    values: Mapping[str, Any], ctx: DeviceContext, p: TextParams, frame: Frame | None
) -> list[Outgoing]:
    """A text payload from a template, in the profile's encoding (line, STX/ETX framings)."""
    payload = encode_text(render(p.template, values), ctx.encoding)
    return [Frame(payload=payload, address=ctx.settings.get("address"), command=p.command)]


FieldFormat = Literal["u8", "u16be", "u16le", "u32be", "u32le", "ascii", "text", "bcd", "hex"]
_STRUCT = {"u8": ">B", "u16be": ">H", "u16le": "<H", "u32be": ">I", "u32le": "<I"}


class OutField(Section, frozen=True, kw_only=True):
    arg: str | None = None  # taken from the values; else `value`
    value: Any = None
    format: FieldFormat = "u8"
    length: int | None = None  # ascii/text/bcd/hex: fixed width (padded); None: as long as it is
    pad: str = " "


class BinaryFrameParams(Section, frozen=True, kw_only=True):
    command: int | None = None
    fields: list[OutField] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        for i, f in enumerate(self.fields):
            if (f.arg is None) == (f.value is None):
                raise ValueError(f"`fields[{i}]` to have either `arg` or `value`")


def _pack(f: OutField, value: Any, encoding: str) -> bytes:
    name = f.arg or "value"
    if f.format in _STRUCT:
        try:
            return struct.pack(_STRUCT[f.format], int(value))
        except (struct.error, ValueError, TypeError):
            raise CommandError(BAD_ARGS, f"{name} does not fit {f.format}: {value!r}") from None
    if f.format == "hex":
        try:
            raw = bytes.fromhex(str(value))
        except ValueError:
            raise CommandError(BAD_ARGS, f"{name} is not hex: {value!r}") from None
    elif f.format == "bcd":
        digits = str(value)
        if not digits.isdigit():
            raise CommandError(BAD_ARGS, f"{name} is not decimal digits: {value!r}")
        if f.length is not None:
            digits = digits.rjust(2 * f.length, "0")
        raw = bytes.fromhex(digits if len(digits) % 2 == 0 else "0" + digits)
    else:
        raw = encode_text(str(value), "ascii" if f.format == "ascii" else encoding)
    if f.length is not None:
        if len(raw) > f.length:
            raise CommandError(BAD_ARGS, f"{name} longer than {f.length} bytes: {value!r}")
        raw = raw.ljust(f.length, f.pad.encode("ascii")[:1] or b" ")
    return raw


@encoder(
    "binary_frame",
    BinaryFrameParams,
    lambda p: {f.arg for f in p.fields if f.arg is not None},
)
def binary_frame(
    values: Mapping[str, Any], ctx: DeviceContext, p: BinaryFrameParams, frame: Frame | None
) -> list[Outgoing]:
    """A frame to this device's bus address: command byte plus fixed-format fields."""
    out = bytearray()
    for f in p.fields:
        if f.arg is not None:
            if values.get(f.arg) is None:
                raise CommandError(BAD_ARGS, f"missing argument {f.arg}")
            value = values[f.arg]
        else:
            value = f.value
        out += _pack(f, value, ctx.encoding)
    return [Frame(payload=bytes(out), address=ctx.settings.get("address"), command=p.command)]


class RawHexParams(Section, frozen=True, kw_only=True):
    hex: str

    def __post_init__(self) -> None:
        try:
            bytes.fromhex(self.hex)
        except ValueError:
            raise ValueError("`hex` to be hexadecimal bytes like '10 04 01'") from None


@encoder("raw_hex", RawHexParams)
def raw_hex(
    values: Mapping[str, Any], ctx: DeviceContext, p: RawHexParams, frame: Frame | None
) -> list[Outgoing]:
    """Fixed bytes sent as they are, outside any framing (ESC/POS real-time requests)."""
    return [bytes.fromhex(p.hex)]
