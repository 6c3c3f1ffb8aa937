"""The registry of named converters: small pure functions a profile refers to by name.

Two kinds:
- a *frame converter* turns one received frame into an event (`Decoded`) or into nothing;
- an *encoder* turns values (command arguments, or the data of an event being
  acknowledged, or nothing for a poll) into frames or raw bytes to send.

Each is registered with a params struct, so a profile's `params:` are validated at load
time with errors naming the file and the key, and a model speaking a known framing needs
only a YAML file.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from edge.config.schema import convert
from edge.drivers.framing import Frame
from edge.errors import ConfigError

P = TypeVar("P", bound=msgspec.Struct)

Outgoing = Frame | bytes


@dataclass(frozen=True, slots=True)
class DeviceContext:
    """What a converter may know about the device besides the frame: pure data."""

    device_id: str
    settings: Mapping[str, Any]
    encoding: str = "gb18030"


@dataclass(frozen=True, slots=True)
class Decoded:
    """An event as a frame converter reads it; the driver adds device id and time."""

    type: str
    data: dict[str, Any]
    source_id: str | None = None


FrameFn = Callable[[Frame, DeviceContext], Decoded | None]
EncodeFn = Callable[[Mapping[str, Any], DeviceContext, Frame | None], list[Outgoing]]


@dataclass(frozen=True, slots=True)
class _Entry(Generic[P]):
    params: type[P]
    fn: Callable[..., Any]
    doc: str
    # Placeholders a params struct refers to (checked against args/settings at load).
    names: Callable[[P], set[str]] | None = None


FRAME_CONVERTERS: dict[str, _Entry[Any]] = {}
ENCODERS: dict[str, _Entry[Any]] = {}


def frame_converter(
    name: str, params: type[P]
) -> Callable[[Callable[[Frame, DeviceContext, P], Decoded | None]], Callable[..., Any]]:
    """Register `fn(frame, ctx, params) -> Decoded | None` under `name`."""

    def register(
        fn: Callable[[Frame, DeviceContext, P], Decoded | None],
    ) -> Callable[..., Any]:
        FRAME_CONVERTERS[name] = _Entry(params, fn, (fn.__doc__ or "").strip())
        return fn

    return register


def encoder(
    name: str, params: type[P], names: Callable[[P], set[str]] | None = None
) -> Callable[
    [Callable[[Mapping[str, Any], DeviceContext, P, Frame | None], list[Outgoing]]],
    Callable[..., Any],
]:
    """Register `fn(values, ctx, params, frame) -> [Frame | bytes]` under `name`.

    `frame` is the received frame when the encoder builds an acknowledgement, else None.
    `names`, when given, lists the placeholders the params use, for checks at load time.
    """

    def register(
        fn: Callable[[Mapping[str, Any], DeviceContext, P, Frame | None], list[Outgoing]],
    ) -> Callable[..., Any]:
        ENCODERS[name] = _Entry(params, fn, (fn.__doc__ or "").strip(), names)
        return fn

    return register


def _entry(table: dict[str, _Entry[Any]], name: str, file: str, key: str) -> _Entry[Any]:
    entry = table.get(name)
    if entry is None:
        raise ConfigError(file, key, "one of " + ", ".join(sorted(table)), name)
    return entry


def bind_frame_converter(
    name: str, params: Mapping[str, Any], file: str = "<profile>", key: str = "converter"
) -> FrameFn:
    """Look up and validate a frame converter; the result takes (frame, ctx)."""
    entry = _entry(FRAME_CONVERTERS, name, file, key)
    p = convert(dict(params), entry.params, file, key.rsplit(".", 1)[0] + ".params")
    fn = entry.fn

    def bound(frame: Frame, ctx: DeviceContext) -> Decoded | None:
        result: Decoded | None = fn(frame, ctx, p)
        return result

    return bound


def encoder_names(name: str, params: Mapping[str, Any], file: str, key: str) -> set[str]:
    """The placeholders an encoder's params refer to (validated like bind_encoder)."""
    entry = _entry(ENCODERS, name, file, key)
    p = convert(dict(params), entry.params, file, key.rsplit(".", 1)[0] + ".params")
    return entry.names(p) if entry.names else set()


def bind_encoder(
    name: str, params: Mapping[str, Any], file: str = "<profile>", key: str = "encoder"
) -> EncodeFn:
    """Look up and validate an encoder; the result takes (values, ctx, frame)."""
    entry = _entry(ENCODERS, name, file, key)
    p = convert(dict(params), entry.params, file, key.rsplit(".", 1)[0] + ".params")
    fn = entry.fn

    def bound(values: Mapping[str, Any], ctx: DeviceContext, frame: Frame | None) -> list[Outgoing]:
        result: list[Outgoing] = fn(values, ctx, p, frame)
        return result

    return bound


def template_names(template: str) -> set[str]:
    """`"D|{ticket_no}|{counter}"` -> {"ticket_no", "counter"}."""
    out: set[str] = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field:
            out.add(field.split(".", 1)[0].split("[", 1)[0])
    return out
