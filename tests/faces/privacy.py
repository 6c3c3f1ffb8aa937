"""Checking that a payload carries no face data: no encoding bytes, no image.

For the hub's end-to-end test that subscribes to the whole cloud broker during a
recognition run: call `assert_no_face_data(message.payload, encodings)` on every message,
with the encodings of the faces shown to the cameras (and of the enrolled customers).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["assert_no_face_data", "encoding_forms"]

# Image headers: JPEG SOI+marker, PNG, GIF, and JPEG's start in base64 ("/9j/").
_IMAGE_MAGIC = {
    "JPEG": b"\xff\xd8\xff",
    "PNG": b"\x89PNG\r\n\x1a\n",
    "GIF": b"GIF8",
    "base64 JPEG": b"/9j/",
    "base64 PNG": b"iVBORw0KGgo",
}
_WINDOW = 32  # bytes of an encoding that would already betray it (4 float64, 8 float32)


def encoding_forms(encoding: np.ndarray) -> Iterator[tuple[str, bytes]]:
    """Byte strings any of which in a payload means the encoding leaked, whole or in part.

    Windows of 32 bytes (4 float64 or 8 float32 values) start at every value, raw and hex;
    base64 windows of 24 bytes start at every 2nd value, at each of the three alignments.
    """
    vec = np.asarray(encoding, dtype=np.float64).reshape(-1)
    for label, dtype in (
        ("float64", "<f8"),
        ("float64 BE", ">f8"),
        ("float32", "<f4"),
        ("float32 BE", ">f4"),
    ):
        raw = vec.astype(dtype).tobytes()
        size = np.dtype(dtype).itemsize
        for start in range(0, len(raw) - _WINDOW + 1, size):
            window = raw[start : start + _WINDOW]
            yield f"{label}[{start}:]", window
            yield f"{label} hex[{start}:]", binascii.hexlify(window)
        # base64 of a run starting at every 2nd value, for each of the three alignments of
        # that run in a longer base64 text: past its first group the characters are the same
        # wherever it sits (a run of about 6 float64 or 12 float32 values is enough)
        for start in range(0, len(raw) - 32, 2 * size):
            for shift in range(3):
                chunk = raw[start + shift : start + shift + 30]
                for name, b64 in (
                    ("base64", base64.b64encode),
                    ("base64url", base64.urlsafe_b64encode),
                ):
                    yield f"{name}({label}[{start + shift}:])", b64(chunk)[4:36]


def _numbers(node: Any) -> Iterator[list[float]]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _numbers(value)
    elif isinstance(node, list):
        nums = [v for v in node if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(nums) >= 8 and len(nums) == len(node):
            yield nums
        for value in node:
            yield from _numbers(value)


def assert_no_face_data(payload: bytes, encodings: Sequence[np.ndarray]) -> None:
    """Fail if `payload` holds an image or (part of) one of `encodings` in any usual form.

    Looks for image headers, the float64/float32 bytes of each encoding (raw, hex, base64),
    and, in JSON payloads, any array of numbers close to a run of an encoding's values.
    """
    for kind, magic in _IMAGE_MAGIC.items():
        assert magic not in payload, f"payload holds {kind} image data"
    for encoding in encodings:
        for label, form in encoding_forms(encoding):
            assert form not in payload, f"payload holds face encoding bytes ({label})"
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return
    for nums in _numbers(document):
        if len(nums) >= 64:
            raise AssertionError(f"payload holds an array of {len(nums)} numbers (an encoding?)")
        arr = np.asarray(nums, dtype=np.float64)
        for encoding in encodings:
            vec = np.asarray(encoding, dtype=np.float64).reshape(-1)
            for start in range(len(vec) - len(arr) + 1):
                if np.allclose(vec[start : start + len(arr)], arr, atol=1e-4):
                    raise AssertionError("payload holds a run of a face encoding's values")
