"""JSON from devices, decoded as a total function: any bytes give a value or a PayloadError."""

from __future__ import annotations

from typing import Any

import msgspec

from edge.errors import PayloadError
from edge.limits import MAX_DEPTH, depth_exceeds

_decoder = msgspec.json.Decoder()


def decode_json(payload: bytes, reason: str) -> Any:
    """Parsed JSON, or PayloadError(reason) for bad syntax, bad UTF-8 or too deep a nesting.

    msgspec rejects invalid UTF-8, lone surrogates and numbers past a float's range (1e400)
    itself; the depth is checked only when the payload has enough brackets to be deep, so a
    normal event pays two `bytes.count` calls for it.
    """
    try:
        obj = _decoder.decode(payload)
    except msgspec.DecodeError as exc:
        raise PayloadError(reason, str(exc)) from None
    except RecursionError:
        raise PayloadError(reason, f"nested deeper than {MAX_DEPTH} levels") from None
    if payload.count(b"[") + payload.count(b"{") > MAX_DEPTH and depth_exceeds(obj):
        raise PayloadError(reason, f"nested deeper than {MAX_DEPTH} levels")
    return obj
