"""An erasure made with `hall-edge faces erase` (another process than the hub) reaches the
hub log and the journal's `face.erased`, as docs/faces.md says of every erasure."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from edge.config.faces import FacesSection
from edge.faces.consent import Enrolment
from edge.faces.detect import DetectSettings, FoundFace
from edge.faces.enrolment import erase_reference, open_vault
from edge.faces.service import FaceService
from edge.model import Event
from tests.faces.conftest import InlineExecutor

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


def _no_faces(jpeg: bytes, settings: DetectSettings) -> list[FoundFace]:
    return []


def test_a_cli_erasure_is_in_the_hub_log_and_journaled(
    section: Callable[..., FacesSection], caplog: pytest.LogCaptureFixture
) -> None:
    conf = section()
    with open_vault(conf) as vault:  # enrolled earlier (a synthetic encoding)
        enrolment = Enrolment("C-7", "FC-7", "vip_greeting", date(2027, 1, 1))
        vault.enroll(enrolment, np.random.default_rng(7).normal(size=128), NOW)
    hub_side = FaceService(conf, "Asia/Shanghai", executor=InlineExecutor(), find=_no_faces)
    hub_side.start()
    try:
        hub_side.tick(NOW)
        erase_reference(conf, ".", "C-7", NOW + timedelta(seconds=5))  # what the CLI runs
        with caplog.at_level(logging.INFO, logger="edge.faces.service"):
            out = hub_side.tick(NOW + timedelta(seconds=6))
    finally:
        hub_side.close()
    erased = [o for o in out if isinstance(o, Event) and o.type == "face.erased"]
    assert [dict(e.data) for e in erased] == [{"customer_ref": "C-7", "reason": "request"}]
    lines = [r.getMessage() for r in caplog.records if r.name == "edge.faces.service"]
    assert any("face.erased: ref=C-7 consent=FC-7 reason=request" in line for line in lines), lines
