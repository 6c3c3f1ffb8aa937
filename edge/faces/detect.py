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
    downscale: int = 640  # largest width faces are encoded from; 0 = full size
    upsample: int = 0
    # Width of the grey copy the HOG detector searches; 0 = the encoding image itself.
    # HOG's cost grows with the pixel count (640 -> 320: about 4x cheaper, measured), while
    # the encoding comes from the sharper encoding image either way.
    detect_width: int = 320


def _open(data: bytes) -> tuple[Any, int, int]:
    """The image, lazily decoded, with its shown width and height (after EXIF rotation)."""
    from PIL import Image  # noqa: PLC0415

    img: Any = Image.open(io.BytesIO(data))
    width, height = img.size
    # EXIF orientations 5-8 turn the picture a quarter: its shown width is the stored height
    if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):
        width, height = height, width
    return img, width, height


def _decode(data: bytes, max_width: int, mode: str) -> tuple[npt.NDArray[np.uint8], float]:
    """Decode to `mode` ("RGB" or "L"), at most `max_width` wide; returns (pixels, scale)."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # noqa: PLC0415

    try:
        img, full_width, _ = _open(data)
        if max_width and full_width > max_width:
            # JPEG can decode at 1/2, 1/4, 1/8 scale directly: far cheaper than a resize.
            shrink = full_width / max_width
            img.draft(mode, (max(1, int(img.size[0] / shrink)), max(1, int(img.size[1] / shrink))))
        img = ImageOps.exif_transpose(img)
        img = img.convert(mode)
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


def decode_jpeg(data: bytes, max_width: int = 0) -> tuple[npt.NDArray[np.uint8], float]:
    """Decode a JPEG (or other still image) to RGB, shrunk to `max_width`; returns (pixels, scale).

    `scale` is original width / decoded width, to map boxes back to frame coordinates.
    """
    return _decode(data, max_width, "RGB")


def _scaled(box: tuple[int, int, int, int], factor: float, height: int, width: int) -> Box:
    top, right, bottom, left = box
    return Box(
        max(0, round(top * factor)),
        min(width, round(right * factor)),
        min(height, round(bottom * factor)),
        max(0, round(left * factor)),
    )


def find_faces(jpeg: bytes, settings: DetectSettings) -> list[FoundFace]:
    """Detect every face in an image and encode it; boxes are in the image's pixels.

    The detector searches a small grey copy (decoded straight at JPEG's 1/2 or 1/4 scale);
    only when it finds a face is the encoding image decoded, so a frame without a face (most
    of a hall's day) costs that small decode and one HOG pass.
    """
    fr = _face_recognition()
    work_width = settings.downscale
    grey_width = settings.detect_width
    if not grey_width or (work_width and grey_width > work_width):
        grey_width = work_width
    grey, grey_scale = _decode(jpeg, grey_width, "L")
    found = fr.face_locations(grey, number_of_times_to_upsample=settings.upsample, model="hog")
    if not found:
        return []
    rgb, rgb_scale = decode_jpeg(jpeg, work_width)
    height, width = rgb.shape[:2]
    full_height, full_width = round(height * rgb_scale), round(width * rgb_scale)
    # Boxes found in the grey copy, in the encoding image's pixels and in the frame's own.
    in_rgb = [_scaled(b, grey_scale / rgb_scale, height, width) for b in found]
    encodings = fr.face_encodings(rgb, known_face_locations=in_rgb, num_jitters=1, model="small")
    return [
        FoundFace(_scaled(b, grey_scale, full_height, full_width), np.asarray(e, np.float64))
        for b, e in zip(found, encodings, strict=True)
    ]


def warm_up() -> bool:
    """Load the models now (run once in each worker so the first frame is not slow)."""
    _face_recognition()
    return True
