"""FaceService: recognition events, visits, erasure, expiry, footfall, enrolment commands."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from edge.config.faces import FacesSection
from edge.errors import CommandError
from edge.faces.detect import DetectSettings, FoundFace
from edge.faces.keyfile import FaceVaultError
from edge.faces.service import FaceService
from edge.faces.vault import FaceVault
from edge.model import BAD_ARGS, NOT_FOUND, TIMEOUT, Event, JournaledEvent
from tests.faces.conftest import InlineExecutor
from tests.faces.privacy import assert_no_face_data

# 09:30 in the hall (Asia/Shanghai, UTC+8)
T0 = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)
CONSENT = {"customer_ref": "C-astro", "consent_id": "FC-0042", "expires": "2027-11-26", "vip": True}


def blank_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


class KnownFrames:
    """A detector stand-in: the faces of the test photos, detected once per session."""

    def __init__(
        self, photo: Callable[[str], bytes], faces_of: Callable[..., list[FoundFace]]
    ) -> None:
        self.by_bytes: dict[bytes, list[FoundFace]] = {blank_jpeg(): []}
        self.calls = 0
        self.photo = photo
        self.faces_of = faces_of

    def frame(self, name: str) -> bytes:
        data = self.photo(name)
        if name in ("obama_and_biden.jpg", "astronaut-group.jpg"):
            # small faces: found as enrolment searches (the whole frame, upsampled)
            self.by_bytes[data] = self.faces_of(name, upsample=1, detect_width=0)
        else:
            self.by_bytes[data] = self.faces_of(name)
        return data

    def __call__(self, jpeg: bytes, settings: DetectSettings) -> list[FoundFace]:
        self.calls += 1
        return self.by_bytes[jpeg]

    def encodings(self) -> list[np.ndarray]:
        return [f.encoding for faces in self.by_bytes.values() for f in faces]


@pytest.fixture
def known(photo: Callable[[str], bytes], faces_of: Callable[..., list[FoundFace]]) -> KnownFrames:
    return KnownFrames(photo, faces_of)


@pytest.fixture
def make_service(
    section: Callable[..., FacesSection], known: KnownFrames
) -> Iterator[Callable[..., FaceService]]:
    made: list[FaceService] = []

    def make(**overrides: Any) -> FaceService:
        svc = FaceService(
            section(**overrides), "Asia/Shanghai", executor=InlineExecutor(), find=known
        )
        svc.start()
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.close()


def enroll(
    svc: FaceService, known: KnownFrames, photo: str = "astronaut.jpg", **fields: Any
) -> dict[str, object]:
    svc.submit_frame("cam-counter", known.frame(photo), T0)
    svc.drain()
    return asyncio.run(
        svc.enroll_from_camera("cam-counter", {**CONSENT, **fields}, T0 + timedelta(seconds=2))
    )


def see(
    svc: FaceService, known: KnownFrames, photo: str | bytes, at: datetime, camera: str = "cam-door"
) -> list[Event]:
    """Show a camera a shared photo (by name) or a frame (bytes); the events that follow."""
    frame = photo if isinstance(photo, bytes) else known.frame(photo)
    svc.submit_frame(camera, frame, at)
    return svc.drain()


def test_enrolled_customer_is_recognised_once_per_visit(
    make_service: Callable[..., FaceService], known: KnownFrames
) -> None:
    svc = make_service()
    reply = enroll(svc, known)
    assert reply == {
        "customer_ref": "C-astro",
        "consent_id": "FC-0042",
        "expires": "2027-11-26",
        "vip": True,
        "replaced": False,
    }
    t = T0 + timedelta(minutes=1)
    (ev,) = see(svc, known, "astronaut2.jpg", t)
    assert (ev.type, ev.device_id, ev.time) == ("customer.recognized", "cam-door", t)
    assert set(ev.data) == {"camera", "customer_ref", "distance", "consent_id", "vip"}
    assert ev.data["camera"] == "cam-door" and ev.data["customer_ref"] == "C-astro"
    assert ev.data["consent_id"] == "FC-0042" and ev.data["vip"] is True
    assert 0.0 < ev.data["distance"] < 0.5 and round(ev.data["distance"], 3) == ev.data["distance"]
    # seen again and again during the visit (the gap counts from the last sighting): no repeat
    assert see(svc, known, "astronaut3.jpg", t + timedelta(minutes=100)) == []
    assert see(svc, known, "astronaut2.jpg", t + timedelta(minutes=219), camera="cam-counter") == []
    # back after more than 120 minutes unseen: a new visit
    (again,) = see(svc, known, "astronaut-480p.jpg", t + timedelta(minutes=340))
    assert again.data["customer_ref"] == "C-astro"


def test_a_different_person_is_not_recognised(
    make_service: Callable[..., FaceService], known: KnownFrames
) -> None:
    svc = make_service()
    enroll(svc, known, photo="obama.jpg")  # cross-person: photos of two people (shared)
    assert see(svc, known, "biden.jpg", T0 + timedelta(minutes=1)) == []
    assert see(svc, known, "biden2.jpg", T0 + timedelta(minutes=2)) == []
    # in the group photo only Obama is recognised, once
    (ev,) = see(svc, known, "obama_and_biden.jpg", T0 + timedelta(minutes=3))
    assert ev.data["customer_ref"] == "C-astro"


def test_erasure_removes_the_match_and_is_reported(
    make_service: Callable[..., FaceService], known: KnownFrames
) -> None:
    svc = make_service()
    enroll(svc, known)
    assert svc.erase("C-astro", T0 + timedelta(minutes=1)) == {
        "customer_ref": "C-astro",
        "erased": True,
    }
    assert see(svc, known, "astronaut2.jpg", T0 + timedelta(minutes=2)) == []
    assert svc.enrolled_count == 0
    out = svc.tick(T0 + timedelta(minutes=3))
    erased = [o for o in out if isinstance(o, Event) and o.type == "face.erased"]
    assert [(e.device_id, dict(e.data)) for e in erased] == [
        ("hub", {"customer_ref": "C-astro", "reason": "request"})
    ]
    assert not [
        o
        for o in svc.tick(T0 + timedelta(minutes=4))
        if isinstance(o, Event) and o.type == "face.erased"
    ]
    with pytest.raises(CommandError) as info:
        svc.erase("C-astro", T0)
    assert info.value.code == NOT_FOUND


def test_an_erasure_by_the_cli_reaches_the_running_service(
    make_service: Callable[..., FaceService],
    known: KnownFrames,
    section: Callable[..., FacesSection],
) -> None:
    svc = make_service()
    enroll(svc, known)
    s = section()
    with FaceVault(s.vault_path, s.key_path) as cli:
        cli.erase("C-astro", "request", T0)
    assert see(svc, known, "astronaut2.jpg", T0 + timedelta(minutes=1)) == []
    erased = [
        o
        for o in svc.tick(T0 + timedelta(minutes=1))
        if isinstance(o, Event) and o.type == "face.erased"
    ]
    assert len(erased) == 1


def test_expired_enrolments_stop_matching_and_are_erased(
    make_service: Callable[..., FaceService], known: KnownFrames
) -> None:
    svc = make_service()
    svc.tick(T0)  # the first expiry check runs now; the next in an hour
    enroll(svc, known, expires="2026-11-27")  # valid through today, hall time
    tomorrow = datetime(2026, 11, 27, 16, 5, tzinfo=UTC)  # 00:05 on the 28th in Shanghai
    assert see(svc, known, "astronaut2.jpg", tomorrow - timedelta(minutes=10)) != []
    # expired by its date, not yet erased by the hourly check: not recognised any more
    assert see(svc, known, "astronaut2.jpg", tomorrow + timedelta(hours=3)) == []
    out = svc.tick(tomorrow)
    erased = [o for o in out if isinstance(o, Event) and o.type == "face.erased"]
    assert [dict(e.data) for e in erased] == [{"customer_ref": "C-astro", "reason": "expired"}]
    assert svc.enrolled_count == 0
    assert svc.vault.enrolments() == []


def test_footfall_is_counted_per_camera_per_interval(
    make_service: Callable[..., FaceService], known: KnownFrames
) -> None:
    svc = make_service(footfall_min_frames=2)
    assert svc.tick(T0 + timedelta(seconds=5)) == []  # first interval ends at 09:31:00
    for s in (10, 11, 12, 55):
        see(svc, known, "astronaut2.jpg", T0 + timedelta(seconds=s))
    see(svc, known, "astronaut3.jpg", T0 + timedelta(seconds=20), camera="cam-hall")
    assert svc.tick(T0 + timedelta(seconds=59)) == []
    out = [
        o for o in svc.tick(T0 + timedelta(seconds=60, milliseconds=300)) if isinstance(o, Event)
    ]
    counts = {e.device_id: (e.time, dict(e.data)) for e in out if e.type == "footfall.counted"}
    end = T0 + timedelta(seconds=60)
    assert counts == {
        "cam-door": (
            end,
            {"camera": "cam-door", "entered": 1, "left": 0, "occupancy": 1, "interval_s": 60},
        ),
        "cam-hall": (
            end,
            {"camera": "cam-hall", "entered": 0, "left": 0, "occupancy": 0, "interval_s": 60},
        ),
    }
    # the next interval: the door camera sees nobody (the person left), the hall camera is silent
    see(svc, known, blank_jpeg(), T0 + timedelta(seconds=70))
    see(svc, known, blank_jpeg(), T0 + timedelta(seconds=71))
    out = [o for o in svc.tick(T0 + timedelta(seconds=121)) if isinstance(o, Event)]
    assert [(e.device_id, e.data["entered"], e.data["left"], e.data["occupancy"]) for e in out] == [
        ("cam-door", 0, 1, 0)
    ]


def test_enrolment_refusals(make_service: Callable[..., FaceService], known: KnownFrames) -> None:
    svc = make_service()
    later = T0 + timedelta(seconds=2)

    def refused(camera: str, **fields: Any) -> CommandError:
        with pytest.raises(CommandError) as info:
            asyncio.run(svc.enroll_from_camera(camera, {**CONSENT, **fields}, later))
        return info.value

    e = refused("cam-counter")
    assert (e.code, e.msg) == (
        NOT_FOUND,
        "no frame from camera cam-counter; is it sending snapshots?",
    )
    svc.submit_frame("cam-old", known.frame("astronaut.jpg"), T0 - timedelta(seconds=30))
    e = refused("cam-old")
    assert e.code == TIMEOUT and "is 32 s old" in e.msg
    svc.submit_frame("cam-counter", known.frame("astronaut-group.jpg"), T0)
    e = refused("cam-counter")
    assert (e.code, e.msg) == (
        BAD_ARGS,
        "3 faces found in the latest frame from camera cam-counter; "
        "the enrolment picture must show the customer alone",
    )
    svc.submit_frame("cam-counter", blank_jpeg(), T0)
    e = refused("cam-counter")
    assert e.code == BAD_ARGS and e.msg.startswith(
        "no face found in the latest frame from camera cam-counter"
    )
    # consent is checked before the face is even looked at
    svc.submit_frame("cam-counter", known.frame("astronaut.jpg"), T0)
    calls = known.calls
    for fields, words in (
        ({"consent_id": ""}, "consent_id is missing"),
        ({"expires": "2026-11-01"}, "is in the past"),
        ({"minor": True}, "a guardian's consent is required"),
    ):
        e = refused("cam-counter", **fields)
        assert e.code == BAD_ARGS and words in e.msg
    assert known.calls == calls
    assert svc.vault.enrolments() == []


def test_the_same_face_is_not_enrolled_under_two_references(
    make_service: Callable[..., FaceService], known: KnownFrames
) -> None:
    svc = make_service()
    enroll(svc, known)
    with pytest.raises(CommandError, match="this face is already enrolled as C-astro"):
        enroll(svc, known, photo="astronaut2.jpg", customer_ref="C-other")
    assert enroll(svc, known, photo="astronaut2.jpg", consent_id="FC-0043")["replaced"] is True
    assert [e.consent_id for e in svc.vault.enrolments()] == ["FC-0043"]


def test_no_event_carries_face_data(
    make_service: Callable[..., FaceService], known: KnownFrames
) -> None:
    svc = make_service(footfall_min_frames=1)
    svc.tick(T0)
    enroll(svc, known)
    events: list[Any] = []
    for i, name in enumerate(
        ["astronaut2.jpg", "astronaut-group.jpg", "astronaut-480p.jpg", "astronaut3.jpg"]
    ):
        events += see(svc, known, name, T0 + timedelta(minutes=1, seconds=i))
    svc.erase("C-astro", T0 + timedelta(minutes=2))
    events += svc.tick(T0 + timedelta(minutes=3))
    assert {e.type for e in events} == {"customer.recognized", "footfall.counted", "face.erased"}
    vault_encodings = [m for m in svc.vault.load()[1]]
    for e in events:
        payload = json.dumps(
            {"type": e.type, "time": e.time.isoformat(), "data": dict(e.data)}
        ).encode()
        assert_no_face_data(payload, known.encodings() + vault_encodings)


def test_a_group_readable_key_stops_the_service(
    section: Callable[..., FacesSection], tmp_path: Path
) -> None:
    s = section()
    FaceVault(s.vault_path, s.key_path).close()
    Path(s.key_path).chmod(0o640)
    with pytest.raises(FaceVaultError, match="readable or writable by group/others"):
        FaceService(s, "Asia/Shanghai", executor=InlineExecutor())


def test_journaled_recognitions_mark_the_visit_after_a_restart(
    make_service: Callable[..., FaceService], known: KnownFrames
) -> None:
    first = make_service()
    enroll(first, known)
    (ev,) = see(first, known, "astronaut2.jpg", T0 + timedelta(minutes=1))
    first.close()
    # the restarted hub replays the journal into the new service
    svc = make_service()
    assert svc.name == "faces"
    journaled = JournaledEvent(
        seq=7,
        id="01X",
        type=ev.type,
        device_id=ev.device_id,
        time=T0 + timedelta(minutes=1),
        data=ev.data,
        replayed=True,
    )
    other = JournaledEvent(
        seq=8, id="01Y", type="queue.ticket.issued", device_id="kiosk", time=T0, data={}
    )
    assert list(svc.handle(journaled)) == [] and list(svc.handle(other)) == []
    assert see(svc, known, "astronaut3.jpg", T0 + timedelta(minutes=5)) == []
    assert len(see(svc, known, "astronaut3.jpg", T0 + timedelta(minutes=300))) == 1


def test_today_is_the_halls_date(
    make_service: Callable[..., FaceService], known: KnownFrames
) -> None:
    # 2026-11-27 20:00 UTC is already the 28th in Shanghai: an expiry of the 27th is past
    svc = make_service()
    svc.submit_frame(
        "cam-counter", known.frame("astronaut.jpg"), datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    )
    with pytest.raises(
        CommandError, match=r"expires 2026-11-27 is in the past \(today is 2026-11-28\)"
    ):
        asyncio.run(
            svc.enroll_from_camera(
                "cam-counter",
                {**CONSENT, "expires": "2026-11-27"},
                datetime(2026, 11, 27, 20, 0, 1, tzinfo=UTC),
            )
        )
    assert date(2026, 11, 28) == datetime(2026, 11, 27, 20, 0, tzinfo=UTC).astimezone(svc.tz).date()
