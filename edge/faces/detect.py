"""Face detection (dlib HOG through face_recognition) and 128-number encodings.

`find_faces` is a plain module-level function so that a worker process can run it: it
takes the JPEG bytes and the settings, and returns boxes in the frame's own pixel
coordinates with their encodings. face_recognition loads its models (about 1.5 s) on
first use, so it is imported lazily: the CLI's `faces list` never pays for it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from edge.errors import PayloadError

__all__ = ["Box", "DetectSettings", "FoundFace", "decode_jpeg", "find_faces", "warm_up"]

_engine: ModuleType | None = None


def _face_recognition() -> ModuleType:
    global _engine
    if _engine is None:
        import face_recognition  # noqa: PLC0415 - heavy: loads dlib models on import

        _engine = face_recognition
    return _engine


class Box(NamedTuple):
    """A face's box in frame pixels (face_recognition's order: top, right, bottom, left)."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


class FoundFace(NamedTuple):
    box: Box
    encoding: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DetectSettings:
    downscale: int = 640  # largest width handed to the detector; 0 = full size
    upsample: int = 0


def decode_jpeg(data: bytes, max_width: int = 0) -> tuple[npt.NDArray[np.uint8], float]:
    """Decode a JPEG (or other still image) to RGB, shrunk to `max_width`; returns (pixels, scale).

    `scale` is original width / decoded width, to map boxes back to frame coordinates.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError  # noqa: PLC0415

    try:
        img: Any = Image.open(io.BytesIO(data))
        full_width, full_height = img.size
        # EXIF orientations 5-8 turn the picture a quarter: its shown width is the stored height
        if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):
            full_width, full_height = full_height, full_width
        if max_width and full_width > max_width:
            # JPEG can decode at 1/2, 1/4, 1/8 scale directly: far cheaper than a resize.
            shrink = full_width / max_width
            img.draft("RGB", (max(1, int(img.size[0] / shrink)), max(1, int(img.size[1] / shrink))))
        img = ImageOps.exif_transpose(img)
        img = img.convert("RGB")
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        ValueError,
        SyntaxError,
    ) as exc:
        raise PayloadError("snapshot is not a decodable image", str(exc)) from None
    if max_width and img.width > max_width:
        height = max(1, round(img.height * max_width / img.width))
        img = img.resize((max_width, height), Image.Resampling.BILINEAR)
    pixels = np.asarray(img, dtype=np.uint8)
    return pixels, full_width / img.width


def find_faces(jpeg: bytes, settings: DetectSettings) -> list[FoundFace]:
    """Detect every face in an image and encode it; boxes are in the image's pixels."""
    fr = _face_recognition()
    pixels, scale = decode_jpeg(jpeg, settings.downscale)
    locations = fr.face_locations(
        pixels, number_of_times_to_upsample=settings.upsample, model="hog"
    )
    if not locations:
        return []
    encodings = fr.face_encodings(
        pixels, known_face_locations=locations, num_jitters=1, model="small"
    )
    faces = []
    for (top, right, bottom, left), enc in zip(locations, encodings, strict=True):
        box = Box(
            round(top * scale), round(right * scale), round(bottom * scale), round(left * scale)
        )
        faces.append(FoundFace(box, np.asarray(enc, dtype=np.float64)))
    return faces


def warm_up() -> bool:
    """Load the models now (run once in each worker so the first frame is not slow)."""
    _face_recognition()
    return True
