"""The consent checks of an enrolment: every refusal says why."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from edge.faces.consent import ConsentError, check_enrolment, require_one_face
from edge.model import BAD_ARGS

TODAY = date(2026, 11, 27)
GOOD: dict[str, Any] = {
    "customer_ref": "C-1001",
    "consent_id": "FC-2026-0042",
    "expires": "2027-11-26",
}


def check(**changes: Any) -> Any:
    fields = {**GOOD, **changes}
    return check_enrolment(fields, TODAY, default_purpose="priority service", max_days=1095)


def test_accepts_complete_consent() -> None:
    e = check(vip=True)
    assert (e.customer_ref, e.consent_id, e.expires, e.vip) == (
        "C-1001",
        "FC-2026-0042",
        date(2027, 11, 26),
        True,
    )
    assert e.purpose == "priority service"
    assert not e.minor and e.guardian_consent_id is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"consent_id": ""}, "consent_id is missing"),
        ({"consent_id": None}, "consent_id is missing"),
        ({"customer_ref": "  "}, "customer_ref is missing"),
        ({"customer_ref": "13812345678"}, "looks like a phone or identity card number"),
        ({"customer_ref": "11010519491231002X"}, "looks like a phone or identity card number"),
        ({"customer_ref": "has space"}, "customer_ref must be 1-64 letters"),
        ({"expires": ""}, "expires is missing"),
        ({"expires": "next year"}, "expires must be a date like 2027-06-30"),
        ({"expires": "2026-11-26"}, "expires 2026-11-26 is in the past (today is 2026-11-27)"),
        ({"expires": "2031-01-01"}, "is too far ahead: at most 1095 days"),
        ({"minor": True}, "the customer is a minor (under 14): a guardian's consent is required"),
        ({"minor": "yes"}, "minor must be true or false"),
        ({"colour": "red"}, "unknown field(s) colour"),
    ],
)
def test_refusals_name_the_reason(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConsentError) as info:
        check(**changes)
    assert message in info.value.msg
    assert info.value.code == BAD_ARGS


def test_minor_with_guardian_consent_and_expiry_today_are_accepted() -> None:
    e = check(
        minor=True, guardian_consent_id="GC-77", expires=TODAY.isoformat(), purpose="VIP greeting"
    )
    assert e.minor and e.guardian_consent_id == "GC-77" and e.purpose == "VIP greeting"
    assert not e.expired(TODAY) and e.expired(date(2026, 11, 28))


def test_exactly_one_face_is_required() -> None:
    assert require_one_face(["a"], "x.jpg") == "a"
    with pytest.raises(ConsentError, match=r"no face found in x\.jpg"):
        require_one_face([], "x.jpg")
    with pytest.raises(
        ConsentError,
        match=r"3 faces found in x\.jpg; the enrolment picture must show the customer alone",
    ):
        require_one_face(["a", "b", "c"], "x.jpg")
