"""Enrolment and erasure as the CLI and the hub's `face.enroll`/`face.erase` perform them.

The order is part of the privacy rules: the consent fields are checked before the image is
looked at, the image must show exactly one face, only its encoding is kept (sealed in the
vault), and the image itself is never written anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.config.faces import FacesSection
from edge.errors import CommandError, EdgeError
from edge.faces.consent import ConsentError, Enrolment, check_enrolment, require_one_face
from edge.faces.detect import DetectSettings, find_faces
from edge.faces.matching import Gallery
from edge.faces.vault import Erasure, FaceVault
from edge.model import NOT_FOUND

__all__ = [
    "EnrolResult",
    "check_fields",
    "enrol_detect_settings",
    "enroll_image",
    "erase_expired",
    "erase_reference",
    "erasure_log",
    "list_enrolments",
    "local_date",
    "open_vault",
    "store_enrolment",
]


@dataclass(frozen=True, slots=True)
class EnrolResult:
    """What an enrolment reports back: consent facts, never face data."""

    enrolment: Enrolment
    replaced: bool

    def reply_data(self) -> dict[str, object]:
        e = self.enrolment
        return {
            "customer_ref": e.customer_ref,
            "consent_id": e.consent_id,
            "expires": e.expires.isoformat(),
            "vip": e.vip,
            "replaced": self.replaced,
        }


def open_vault(section: FacesSection, base_dir: str | Path = ".") -> FaceVault:
    """Open (creating if needed) the vault and key named by the [faces] section."""
    base = Path(base_dir)

    def resolve(p: str) -> Path:
        path = Path(p)
        return path if path.is_absolute() else base / path

    return FaceVault(resolve(section.vault_path), resolve(section.key_path))


def enrol_detect_settings(section: FacesSection) -> DetectSettings:
    """Detection for enrolment searches the whole downscaled frame and upsamples at least
    once, so a second, smaller face is not missed (enrolment is rare: its cost is no issue)."""
    return DetectSettings(
        downscale=section.downscale, upsample=max(1, section.upsample), detect_width=0
    )


def local_date(at: datetime, tz: tzinfo) -> date:
    """The hall's calendar date at an instant."""
    return at.astimezone(tz).date()


def check_fields(section: FacesSection, fields: Mapping[str, object], today: date) -> Enrolment:
    """The consent checks, with the section's default purpose and longest validity."""
    return check_enrolment(
        fields, today, default_purpose=section.default_purpose, max_days=section.max_enrolment_days
    )


def store_enrolment(
    vault: FaceVault,
    gallery: Gallery,
    *,
    tolerance: float,
    enrolment: Enrolment,
    encoding: npt.NDArray[np.float64],
    now: datetime,
) -> EnrolResult:
    """Seal and store an encoding, refusing a face already enrolled under another reference."""
    match = gallery.match(encoding, tolerance)[0]
    if match is not None and match.ref != enrolment.customer_ref:
        raise ConsentError(
            f"this face is already enrolled as {match.ref}; erase that enrolment first "
            "or re-enrol under the same reference"
        )
    replaced = vault.enroll(enrolment, encoding, now)
    return EnrolResult(enrolment, replaced)


def enroll_image(
    section: FacesSection,
    base_dir: str | Path,
    image: Path,
    *,
    fields: Mapping[str, object],
    now: datetime,
    tz: tzinfo,
) -> EnrolResult:
    """Enrol the one face of an image file (the CLI's `faces enroll`)."""
    enrolment = check_fields(section, fields, local_date(now, tz))
    try:
        data = image.read_bytes()
    except OSError as exc:
        raise EdgeError(f"{image}: cannot read the image ({exc.strerror})") from None
    face = require_one_face(find_faces(data, enrol_detect_settings(section)), str(image))
    with open_vault(section, base_dir) as vault:
        enrolments, matrix = vault.load()
        gallery = Gallery([e.customer_ref for e in enrolments], matrix)
        return store_enrolment(
            vault,
            gallery,
            tolerance=section.tolerance,
            enrolment=enrolment,
            encoding=face.encoding,
            now=now,
        )


def erase_reference(section: FacesSection, base_dir: str | Path, ref: str, now: datetime) -> None:
    """Erase one enrolment at once (the CLI's `faces erase`); 404 if there is none."""
    with open_vault(section, base_dir) as vault:
        if not vault.erase(ref, "request", now):
            raise CommandError(NOT_FOUND, f"no enrolment under reference {ref!r}")


def erase_expired(
    section: FacesSection, base_dir: str | Path, now: datetime, tz: tzinfo
) -> list[str]:
    """Erase (and log) every enrolment past its expiry date in the hall; the references."""
    with open_vault(section, base_dir) as vault:
        return vault.erase_expired(local_date(now, tz), now)


def list_enrolments(section: FacesSection, base_dir: str | Path) -> list[Enrolment]:
    """Every enrolment's consent record (no encodings are read)."""
    with open_vault(section, base_dir) as vault:
        return vault.enrolments()


def erasure_log(
    section: FacesSection, base_dir: str | Path, limit: int | None = None
) -> list[Erasure]:
    """The erasure log, oldest first (the newest `limit` lines if given)."""
    with open_vault(section, base_dir) as vault:
        return vault.erasures(limit=limit)
