"""The [faces] section of the hub config: face cameras, the enrolment vault, footfall counting.

Off by default: face recognition processes sensitive personal information (PIPL Art. 28),
so a hall turns it on deliberately. Bounds are checked here so that an installer's typo
(a tolerance of 6 instead of 0.6) is caught when the config is read, not in the hall.
"""

from __future__ import annotations

from edge.config.hub import Section


def _require(ok: bool, key: str, expected: str, got: object) -> None:
    # msgspec turns a ValueError from __post_init__ into a ValidationError located at the
    # section, so the key is named in the message itself.
    if not ok:
        raise ValueError(f"`{key}` to be {expected} (got {got!r})")


class FacesSection(Section, frozen=True):
    enabled: bool = False
    # The enrolment vault: its own SQLite file, apart from the journal, and its key file.
    # Relative paths are relative to the config file's folder.
    vault_path: str = "faces.db"
    key_path: str = "faces.key"
    # Largest face-encoding distance still taken as the same person (0.6 is dlib's usual).
    tolerance: float = 0.6
    # Frames wider than this many pixels are shrunk before detection (0: never shrink).
    downscale: int = 640
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
        _require(0 < self.tolerance <= 1, "tolerance", "above 0 and at most 1", self.tolerance)
        _require(
            self.downscale == 0 or self.downscale >= 160,
            "downscale",
            "0 (off) or a width of at least 160 pixels",
            self.downscale,
        )
        _require(0 <= self.upsample <= 2, "upsample", "0, 1 or 2", self.upsample)
        _require(1 <= self.workers <= 16, "workers", "from 1 to 16", self.workers)
        _require(self.visit_gap_min > 0, "visit_gap_min", "minutes above 0", self.visit_gap_min)
        _require(
            1 <= self.footfall_interval_s <= 86_400,
            "footfall_interval_s",
            "seconds from 1 to 86400",
            self.footfall_interval_s,
        )
        _require(
            0 < self.footfall_iou <= 1, "footfall_iou", "above 0 and at most 1", self.footfall_iou
        )
        _require(
            self.footfall_min_frames >= 1,
            "footfall_min_frames",
            "at least 1",
            self.footfall_min_frames,
        )
        _require(
            self.footfall_lost_frames >= 1,
            "footfall_lost_frames",
            "at least 1",
            self.footfall_lost_frames,
        )
        _require(
            self.footfall_lost_s > 0, "footfall_lost_s", "seconds above 0", self.footfall_lost_s
        )
        _require(
            self.erase_check_interval_s >= 1,
            "erase_check_interval_s",
            "at least 1 second",
            self.erase_check_interval_s,
        )
        _require(
            self.enroll_frame_max_age_s > 0,
            "enroll_frame_max_age_s",
            "seconds above 0",
            self.enroll_frame_max_age_s,
        )
        _require(
            bool(self.default_purpose.strip()),
            "default_purpose",
            "a non-empty text",
            self.default_purpose,
        )
        _require(
            1 <= self.max_enrolment_days <= 3650,
            "max_enrolment_days",
            "days from 1 to 3650",
            self.max_enrolment_days,
        )
        _require(
            self.max_frame_bytes >= 1024, "max_frame_bytes", "at least 1024", self.max_frame_bytes
        )
        _require(bool(self.vault_path), "vault_path", "a file path", self.vault_path)
        _require(bool(self.key_path), "key_path", "a file path", self.key_path)
        _require(
            self.vault_path != self.key_path,
            "key_path",
            "a file other than vault_path",
            self.key_path,
        )
