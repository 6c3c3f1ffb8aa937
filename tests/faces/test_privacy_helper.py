"""The payload checker used by the hub's end-to-end privacy test catches every usual leak."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tests.faces.privacy import assert_no_face_data

ENC = np.random.default_rng(3).normal(0, 0.1, 128)


def envelope(data: object) -> bytes:
    return json.dumps({"specversion": "1.0", "type": "customer.recognized", "data": data}).encode()


def test_clean_event_passes() -> None:
    payload = envelope(
        {
            "camera": "cam-1",
            "customer_ref": "C-1",
            "distance": 0.351,
            "consent_id": "FC-1",
            "vip": False,
        }
    )
    assert_no_face_data(payload, [ENC])


@pytest.mark.parametrize(
    "leak",
    [
        b"prefix" + ENC.tobytes() + b"suffix",
        ENC.astype("<f4").tobytes(),
        ENC[40:48].tobytes(),
        ENC.astype(">f8").tobytes(),
        envelope({"enc": base64.b64encode(b"xy" + ENC.tobytes()).decode()}),
        envelope({"enc": base64.urlsafe_b64encode(ENC.astype("<f4").tobytes()).decode()}),
        envelope({"enc": ENC.tobytes().hex()}),
        envelope({"enc": [round(float(v), 6) for v in ENC]}),
        envelope({"part": [round(float(v), 5) for v in ENC[10:20]]}),
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        envelope({"snapshot": base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF").decode()}),
    ],
)
def test_leaks_are_caught(leak: bytes) -> None:
    with pytest.raises(AssertionError):
        assert_no_face_data(leak, [ENC])


def test_unrelated_number_lists_pass() -> None:
    assert_no_face_data(envelope({"counts": [1, 2, 3, 4, 5, 6, 7, 8, 9]}), [ENC])


def test_short_base64_runs_are_caught_at_any_alignment() -> None:
    for pad in range(3):
        for first in (0, 1, 57):
            run = ENC[first : first + 7].tobytes()
            with pytest.raises(AssertionError):
                assert_no_face_data(
                    envelope({"x": base64.b64encode(b"p" * pad + run).decode()}), [ENC]
                )
