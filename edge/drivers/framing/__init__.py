"""Serial framers: sans-IO byte-stream parsers, one small module per framing.

`make_framer(name, **params)` builds the framer a device profile names; each framer's module
docstring documents its wire format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .base import Frame, Framer, Garbage
from .checks import crc16_modbus, xor_bcc
from .dlt645 import Dlt645Framer
from .escpos_status import EscposStatusFramer
from .line import LineFramer
from .modbus_rtu import ModbusRtuFramer
from .stx_etx import StxEtxFramer

__all__ = [
    "FRAMER_NAMES",
    "Dlt645Framer",
    "EscposStatusFramer",
    "Frame",
    "Framer",
    "Garbage",
    "LineFramer",
    "ModbusRtuFramer",
    "StxEtxFramer",
    "crc16_modbus",
    "make_framer",
    "xor_bcc",
]

_BUILDERS: dict[str, Callable[[Mapping[str, object]], Framer]] = {
    Dlt645Framer.name: Dlt645Framer.from_params,
    ModbusRtuFramer.name: ModbusRtuFramer.from_params,
    EscposStatusFramer.name: EscposStatusFramer.from_params,
    StxEtxFramer.name: StxEtxFramer.from_params,
    LineFramer.name: LineFramer.from_params,
}

FRAMER_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def make_framer(name: str, **params: object) -> Framer:
    """A new framer for `name` (one of FRAMER_NAMES); ValueError names a bad name or param."""
    builder = _BUILDERS.get(name)
    if builder is None:
        raise ValueError(f"unknown framer {name!r} (known: {', '.join(FRAMER_NAMES)})")
    return builder(params)
