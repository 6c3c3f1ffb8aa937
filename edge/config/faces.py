"""The [faces] section of the hub config: face cameras, the enrolment vault, footfall counting.

Off by default: face recognition processes sensitive personal information (PIPL Art. 28),
so a hall turns it on deliberately. Bounds are checked here so that an installer's typo
(a tolerance of 6 instead of 0.6) is caught when the config is read, not in the hall.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.config.hub import Section


def _require(ok: bool, key: str, expected: str, got: object) -> None:
    # msgspec turns a ValueError from __post_init__ into a ValidationError located at the
    # section, so the key is named in the message itself.
    if not ok:
        raise ValueError(f"`{key}` to be {expected} (got {got!r})")


# Each key's bounds: what it is expected to be (as the error says it) and the test of it.
_BOUNDS: tuple[tuple[str, str, Callable[[Any], bool]], ...] = (
    ("tolerance", "above 0 and at most 1", lambda v: 0 < v <= 1),
    ("downscale", "0 (off) or a width of at least 160 pixels", lambda v: v == 0 or v >= 160),
    ("upsample", "0, 1 or 2", lambda v: 0 <= v <= 2),
    (
        "detect_width",
        "0 (the downscaled frame) or a width of at least 160 pixels",
        lambda v: v == 0 or v >= 160,
    ),
    ("workers", "from 1 to 16", lambda v: 1 <= v <= 16),
    ("visit_gap_min", "minutes above 0", lambda v: v > 0),
    ("footfall_interval_s", "seconds from 1 to 86400", lambda v: 1 <= v <= 86_400),
    ("footfall_iou", "above 0 and at most 1", lambda v: 0 < v <= 1),
    ("footfall_min_frames", "at least 1", lambda v: v >= 1),
    ("footfall_lost_frames", "at least 1", lambda v: v >= 1),
    ("footfall_lost_s", "seconds above 0", lambda v: v > 0),
    ("erase_check_interval_s", "at least 1 second", lambda v: v >= 1),
    ("enroll_frame_max_age_s", "seconds above 0", lambda v: v > 0),
    ("default_purpose", "a non-empty text", lambda v: bool(v.strip())),
    ("max_enrolment_days", "days from 1 to 3650", lambda v: 1 <= v <= 3650),
    ("max_frame_bytes", "at least 1024", lambda v: v >= 1024),
    ("vault_path", "a file path", bool),
    ("key_path", "a file path", bool),
)


class FacesSection(Section, frozen=True):
    enabled: bool = False
    # The enrolment vault: its own SQLite file, apart from the journal, and its key file.
    # Relative paths are relative to the config file's folder.
    vault_path: str = "faces.db"
    key_path: str = "faces.key"
    # Largest face-encoding distance still taken as the same person (0.6 is dlib's usual).
    tolerance: float = 0.6
    # Frames wider than this many pixels are shrunk before encoding (0: never shrink).
    downscale: int = 640
    # The detector searches a grey copy this wide (0: the downscaled frame itself). Measured
    # on a 640-wide frame (docs/faces.md, "Detection width"): at 320 faces from about 110
    # pixels wide are found (a counter camera facing the seated customer) at a quarter of
    # the cost of searching at 640, which finds them from 50 (a door or waiting-area camera).
    detect_width: int = 320
    # HOG detector upsampling: 0 is fast, 1 finds faces half the size at about 4x the cost.
    upsample: int = 0
    # Worker processes for detection and encoding (dlib holds the GIL while encoding).
    workers: int = 1
    # A customer seen again after this many minutes without a sighting is a new visit.
    visit_gap_min: float = 120.0
    # Footfall: one count per camera per interval; face boxes are tracked by overlap.
    footfall_interval_s: int = 60
    footfall_iou: float = 0.3
    footfall_min_frames: int = 2
    footfall_lost_frames: int = 2
    footfall_lost_s: float = 10.0
    # How often expired enrolments are looked for and erased.
    erase_check_interval_s: float = 3600.0
    # `face.enroll` uses the camera's latest frame only if it is at most this old.
    enroll_frame_max_age_s: float = 5.0
    # Consent: purpose recorded when the enrolment names none, longest allowed validity.
    default_purpose: str = "recognise the customer in this hall for priority service"
    max_enrolment_days: int = 1095
    # Larger snapshots are refused (a 1280x720 JPEG is typically 100-300 kB).
    max_frame_bytes: int = 4_000_000

    def __post_init__(self) -> None:
        for key, expected, ok in _BOUNDS:
            value = getattr(self, key)
            _require(ok(value), key, expected, value)
        _require(
            self.vault_path != self.key_path,
            "key_path",
            "a file other than vault_path",
            self.key_path,
        )
