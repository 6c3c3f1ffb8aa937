"""Named converters a profile refers to: frame -> event, values -> frames (see base.py)."""

from __future__ import annotations

# The modules register their converters on import.
from edge.drivers.converters import encoders, frames, invoice
from edge.drivers.converters.base import (
    ENCODERS,
    FRAME_CONVERTERS,
    Decoded,
    DeviceContext,
    EncodeFn,
    FrameFn,
    Outgoing,
    bind_encoder,
    bind_frame_converter,
    encoder_names,
    template_names,
)

__all__ = [
    "ENCODERS",
    "FRAME_CONVERTERS",
    "Decoded",
    "DeviceContext",
    "EncodeFn",
    "FrameFn",
    "Outgoing",
    "bind_encoder",
    "bind_frame_converter",
    "encoder_names",
    "encoders",
    "frames",
    "invoice",
    "template_names",
]
