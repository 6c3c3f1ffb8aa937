"""The checks an enrolment must pass before any face is looked at (PIPL Art. 26/28/29/31).

Consent is checked first and the image second: a face is not even detected for a customer
whose consent record is incomplete. Every refusal is a `ConsentError` (reply code 400)
with a message a counter clerk can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from edge.errors import CommandError
from edge.model import BAD_ARGS

__all__ = [
    "ConsentError",
    "Enrolment",
    "check_enrolment",
    "require_one_face",
]

# A reference must be pseudonymous: these look like a mainland mobile number or a resident
# identity card number, which would put a direct identifier next to face data.
_MOBILE = re.compile(r"^\+?(86)?1[3-9]\d{9}$")
_ID_CARD = re.compile(r"^\d{15}$|^\d{17}[\dXx]$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")

_FIELDS = frozenset(
    {"customer_ref", "consent_id", "expires", "purpose", "minor", "guardian_consent_id", "vip"}
)

T = TypeVar("T")


class ConsentError(CommandError):
    """An enrolment was refused; the message says why and what to do."""

    def __init__(self, msg: str) -> None:
        super().__init__(BAD_ARGS, msg)


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What is recorded about one enrolled customer, besides the encrypted encoding."""

    customer_ref: str
    consent_id: str
    purpose: str
    expires: date  # last day the enrolment is valid, in the hall's time zone
    minor: bool = False
    guardian_consent_id: str | None = None
    vip: bool = False
    enrolled_at: datetime | None = None

    def expired(self, today: date) -> bool:
        """True once the hall's local date is past the expiry date."""
        return today > self.expires


def _text(fields: Mapping[str, object], key: str) -> str:
    value = fields.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConsentError(f"{key} must be text, not {type(value).__name__}")
    return value.strip()


def _flag(fields: Mapping[str, object], key: str) -> bool:
    value = fields.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ConsentError(f"{key} must be true or false, not {value!r}")
    return value


def _expiry(fields: Mapping[str, object]) -> date:
    value = fields.get("expires")
    if value is None or value == "":
        raise ConsentError(
            "expires is missing: give the last day the consent is valid (YYYY-MM-DD)"
        )
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConsentError(f"expires must be a date like 2027-06-30, not {value!r}")


def check_enrolment(
    fields: Mapping[str, object],
    today: date,
    *,
    default_purpose: str,
    max_days: int,
) -> Enrolment:
    """Validate the consent fields of an enrolment; raise ConsentError with the reason."""
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise ConsentError(
            f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(_FIELDS))}"
        )
    ref = _text(fields, "customer_ref")
    if not ref:
        raise ConsentError("customer_ref is missing: give the customer's pseudonymous reference")
    if _MOBILE.match(ref) or _ID_CARD.match(ref):
        raise ConsentError(
            "customer_ref looks like a phone or identity card number; "
            "use a pseudonymous reference (e.g. the CRM's opaque customer key)"
        )
    if not _REF.match(ref):
        raise ConsentError(
            "customer_ref must be 1-64 letters, digits or . _ : - (starting with a letter or digit)"
        )
    consent_id = _text(fields, "consent_id")
    if not consent_id:
        raise ConsentError(
            "consent_id is missing: a face is enrolled only with the customer's separate "
            "signed consent; give its id"
        )
    expires = _expiry(fields)
    if expires < today:
        raise ConsentError(
            f"expires {expires.isoformat()} is in the past (today is {today.isoformat()})"
        )
    latest = today + timedelta(days=max_days)
    if expires > latest:
        raise ConsentError(
            f"expires {expires.isoformat()} is too far ahead: at most {max_days} days "
            f"(until {latest.isoformat()})"
        )
    minor = _flag(fields, "minor")
    guardian = _text(fields, "guardian_consent_id") or None
    if minor and guardian is None:
        raise ConsentError(
            "the customer is a minor (under 14): a guardian's consent is required; "
            "give guardian_consent_id"
        )
    purpose = _text(fields, "purpose") or default_purpose
    return Enrolment(
        customer_ref=ref,
        consent_id=consent_id,
        purpose=purpose,
        expires=expires,
        minor=minor,
        guardian_consent_id=guardian,
        vip=_flag(fields, "vip"),
    )


def require_one_face(faces: Sequence[T], where: str) -> T:
    """The one face an enrolment image must show; refuse none or several."""
    if not faces:
        raise ConsentError(
            f"no face found in {where}; use a clear, front-facing picture of the customer"
        )
    if len(faces) > 1:
        raise ConsentError(
            f"{len(faces)} faces found in {where}; the enrolment picture must show the "
            "customer alone"
        )
    return faces[0]
