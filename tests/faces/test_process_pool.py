"""The real route: worker processes, real detection, the hub's loop never blocked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from edge.config.faces import FacesSection
from edge.faces.consent import Enrolment
from edge.faces.detect import FoundFace
from edge.faces.service import FaceService
from edge.faces.vault import FaceVault

T0 = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)


def test_recognition_in_a_worker_process_keeps_the_loop_free(
    section: Callable[..., FacesSection],
    photo: Callable[[str], bytes],
    faces_of: Callable[..., list[FoundFace]],
) -> None:
    s = section()
    (face,) = faces_of("astronaut.jpg")
    with FaceVault(s.vault_path, s.key_path) as vault:
        e = Enrolment("C-astronaut", "FC-0042", "priority service", date(2027, 1, 31))
        vault.enroll(e, face.encoding, T0)
    svc = FaceService(s, "Asia/Shanghai")
    svc.start()
    frame = photo("astronaut2.jpg")

    async def run() -> tuple[list[object], float]:
        events: list[object] = []
        worst = 0.0
        deadline = time.monotonic() + 60
        for _ in range(20):  # a burst: newest frame wins, the rest are skipped
            svc.submit_frame("cam-door", frame, T0)
        while not events and time.monotonic() < deadline:
            started = time.monotonic()
            await asyncio.sleep(0.01)
            worst = max(worst, time.monotonic() - started)
            events += svc.drain()
        return events, worst

    try:
        events, worst_sleep = asyncio.run(run())
        counters = svc.camera_counters()["cam-door"]
    finally:
        svc.close()
    assert [getattr(e, "type", None) for e in events] == ["customer.recognized"]
    assert events[0].data["customer_ref"] == "C-astronaut"  # type: ignore[attr-defined]
    assert worst_sleep < 0.25, f"the event loop was blocked for {worst_sleep:.3f} s"
    assert counters.received == 20 and counters.skipped >= 18
