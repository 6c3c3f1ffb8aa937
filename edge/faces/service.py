"""The face service the hub runs: frames in; `customer.recognized`, `footfall.counted`,
`face.erased` out.

How the hub drives it:
- `start()` once (spawns the workers), `close()` at shutdown.
- `submit_frame(camera, jpeg, at)` for every snapshot (MQTT message or fetched URL); it
  never blocks.
- `drain()` — poll it (e.g. every 100-200 ms, or when `on_result` fires; that callback runs
  in a worker-callback thread, so pass something like
  `lambda: loop.call_soon_threadsafe(wakeup.set)`): it returns the `customer.recognized`
  events of the frames processed since the last call.
- `tick(now)` about once a second, per the Service protocol: `footfall.counted` at the end
  of each interval, expiry erasures, and `face.erased` audit events for every erasure
  logged in the vault (by this hub, by the CLI, or by expiry).
- `await enroll_from_camera(camera, args, now)` for the `face.enroll` command and
  `erase(ref, now)` for `face.erase`; both raise CommandError (code 400/404/408).
Encodings of the faces in a frame are matched and dropped in `drain()`; only the vault keeps
encodings, and only of consenting, enrolled customers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from edge.config.faces import FacesSection
from edge.errors import CommandError
from edge.faces.consent import Enrolment, require_one_face
from edge.faces.detect import DetectSettings, find_faces
from edge.faces.enrolment import (
    check_fields,
    enrol_detect_settings,
    local_date,
    open_vault,
    store_enrolment,
)
from edge.faces.footfall import CameraFootfall
from edge.faces.matching import Gallery, Match
from edge.faces.pipeline import CameraCounters, FindFaces, FramePipeline, FrameResult
from edge.model import HUB_DEVICE, NOT_FOUND, TIMEOUT, Event, JournaledEvent, Output

__all__ = ["FaceService"]

log = logging.getLogger(__name__)


class FaceService:
    """On-hub face recognition of enrolled customers and identity-free visitor counts."""

    name = "faces"

    def __init__(
        self,
        section: FacesSection,
        hall_tz: str | tzinfo,
        *,
        base_dir: str | Path = ".",
        executor: Executor | None = None,
        find: FindFaces = find_faces,
        on_result: Callable[[], None] | None = None,
    ) -> None:
        self.section = section
        self.tz = ZoneInfo(hall_tz) if isinstance(hall_tz, str) else hall_tz
        # Opening the vault checks the key file: a group-readable key stops the hub here.
        self.vault = open_vault(section, base_dir)
        self.pipeline = FramePipeline(
            DetectSettings(section.downscale, section.upsample, section.detect_width),
            workers=section.workers,
            max_frame_bytes=section.max_frame_bytes,
            executor=executor,
            find=find,
            on_result=on_result,
        )
        self._gap = timedelta(minutes=section.visit_gap_min)
        self._last_seen: dict[str, datetime] = {}
        self._gallery = Gallery([], np.empty((0, 128)))
        self._enrolled: dict[str, Enrolment] = {}
        self._reload()
        self._footfall: dict[str, CameraFootfall] = {}
        self._interval_end: datetime | None = None
        self._next_erase_check: datetime | None = None

    # -- lifetime ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the detection workers."""
        self.pipeline.start()

    def close(self) -> None:
        """Stop the workers, drop kept frames and close the vault."""
        self.pipeline.close()
        self.vault.close()

    # -- enrolled set --------------------------------------------------------------------

    def _reload(self) -> None:
        enrolments, matrix = self.vault.load()
        self._gallery = Gallery([e.customer_ref for e in enrolments], matrix)
        self._enrolled = {e.customer_ref: e for e in enrolments}
        for ref in [r for r in self._last_seen if r not in self._enrolled]:
            del self._last_seen[ref]

    def _refresh(self) -> None:
        # The CLI may enrol or erase while the hub runs: pick that up before matching.
        if self.vault.changed_elsewhere():
            self._reload()

    @property
    def enrolled_count(self) -> int:
        return len(self._gallery)

    # -- frames --------------------------------------------------------------------------

    def submit_frame(self, camera_id: str, jpeg: bytes, at: datetime) -> None:
        """A camera's snapshot (JPEG); non-blocking, the newest frame per camera wins."""
        self.pipeline.submit(camera_id, jpeg, at)

    def drain(self) -> list[Event]:
        """`customer.recognized` events of the frames processed since the last call."""
        results = self.pipeline.results()
        if not results:
            return []
        self._refresh()
        events: list[Event] = []
        for result in results:
            if result.error is not None:
                log.debug("camera %s: frame failed: %s", result.camera_id, result.error)
                continue
            self._camera_footfall(result.camera_id).observe(
                [f.box for f in result.faces], result.at
            )
            events.extend(self._recognise(result))
        return events

    def _camera_footfall(self, camera_id: str) -> CameraFootfall:
        counter = self._footfall.get(camera_id)
        if counter is None:
            s = self.section
            counter = CameraFootfall(
                iou_min=s.footfall_iou,
                min_frames=s.footfall_min_frames,
                lost_frames=s.footfall_lost_frames,
                lost_s=s.footfall_lost_s,
            )
            self._footfall[camera_id] = counter
        return counter

    def _recognise(self, result: FrameResult) -> list[Event]:
        if not result.faces or not len(self._gallery):
            return []
        matches = self._gallery.match(
            np.stack([f.encoding for f in result.faces]), self.section.tolerance
        )
        # one face per customer per frame: the closest, if two faces match the same person
        best: dict[str, Match] = {}
        for m in matches:
            if m is not None and (m.ref not in best or m.distance < best[m.ref].distance):
                best[m.ref] = m
        today = local_date(result.at, self.tz)
        events = []
        for ref, m in best.items():
            enrolment = self._enrolled.get(ref)
            if enrolment is None or enrolment.expired(today):
                continue  # expired but not yet erased: no longer recognised
            last = self._last_seen.get(ref)
            if last is None or result.at > last:
                self._last_seen[ref] = result.at
            if last is not None and result.at - last < self._gap:
                continue  # same visit
            events.append(
                Event(
                    type="customer.recognized",
                    device_id=result.camera_id,
                    time=result.at,
                    data={
                        "camera": result.camera_id,
                        "customer_ref": ref,
                        "distance": round(m.distance, 3),
                        "consent_id": enrolment.consent_id,
                        "vip": enrolment.vip,
                    },
                )
            )
        return events

    def camera_counters(self) -> dict[str, CameraCounters]:
        """Frames received, processed, skipped (newest won) and failed, per camera."""
        return self.pipeline.counters()

    # -- Service protocol ----------------------------------------------------------------

    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        """Journaled `customer.recognized` events (replayed after a restart too) mark visits.

        So a hub restarted while a customer is in the hall does not greet them twice.
        """
        if event.type == "customer.recognized":
            ref = event.data.get("customer_ref")
            if isinstance(ref, str) and ref in self._enrolled:
                last = self._last_seen.get(ref)
                if last is None or event.time > last:
                    self._last_seen[ref] = event.time
        return ()

    def tick(self, now: datetime) -> Sequence[Output]:
        """Footfall at interval ends, expiry erasures, and audit events of logged erasures."""
        out: list[Output] = []
        self._refresh()
        if self._next_erase_check is None or now >= self._next_erase_check:
            self._next_erase_check = now + timedelta(seconds=self.section.erase_check_interval_s)
            if self.vault.erase_expired(local_date(now, self.tz), now):
                self._reload()
        erasures = self.vault.erasures(unreported=True)
        for e in erasures:
            # Every erasure reaches the hub log here, whoever made it: the hub's own command
            # or expiry, or `hall-edge faces erase` in another process (docs/faces.md).
            log.info(
                "face.erased: ref=%s consent=%s reason=%s erased_at=%s",
                e.customer_ref,
                e.consent_id,
                e.reason,
                e.erased_at.isoformat(timespec="seconds"),
            )
            out.append(
                Event(
                    type="face.erased",
                    device_id=HUB_DEVICE,
                    time=e.erased_at,
                    data={"customer_ref": e.customer_ref, "reason": e.reason},
                )
            )
        self.vault.mark_reported([e.id for e in erasures])
        out.extend(self._footfall_due(now))
        for ref in [r for r, seen in self._last_seen.items() if now - seen >= self._gap]:
            del self._last_seen[ref]
        self.pipeline.forget_before(now - timedelta(seconds=self.section.enroll_frame_max_age_s))
        return out

    def _interval_after(self, now: datetime) -> datetime:
        # Intervals are aligned to the hall's local midnight, so 60 s intervals end on the minute.
        local = now.astimezone(self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        step = self.section.footfall_interval_s
        elapsed = int((local - midnight).total_seconds())
        return midnight + timedelta(seconds=(elapsed // step + 1) * step)

    def _footfall_due(self, now: datetime) -> list[Event]:
        if self._interval_end is None:
            self._interval_end = self._interval_after(now)
            return []
        if now < self._interval_end:
            return []
        end, self._interval_end = self._interval_end, self._interval_after(now)
        events = []
        for camera_id, counter in self._footfall.items():
            frames = counter.frames
            counts = counter.close_interval(now)
            if not frames and not (counts.entered or counts.left or counts.occupancy):
                continue  # a camera that sent nothing all interval: no made-up zeros
            events.append(
                Event(
                    type="footfall.counted",
                    device_id=camera_id,
                    time=end,
                    data={
                        "camera": camera_id,
                        "entered": counts.entered,
                        "left": counts.left,
                        "occupancy": counts.occupancy,
                        "interval_s": self.section.footfall_interval_s,
                    },
                )
            )
        return events

    # -- commands ------------------------------------------------------------------------

    async def enroll_from_camera(
        self, camera_id: str, fields: Mapping[str, object], now: datetime
    ) -> dict[str, object]:
        """`face.enroll`: enrol the one face in the camera's latest frame; the reply data."""
        frame = self.pipeline.latest(camera_id)
        if frame is None:
            raise CommandError(
                NOT_FOUND, f"no frame from camera {camera_id}; is it sending snapshots?"
            )
        jpeg, taken = frame
        age = (now - taken).total_seconds()
        if age > self.section.enroll_frame_max_age_s:
            raise CommandError(
                TIMEOUT,
                f"the latest frame from camera {camera_id} is {age:.0f} s old; "
                "check the camera and try again with the customer facing it",
            )
        enrolment = check_fields(self.section, fields, local_date(now, self.tz))
        future = self.pipeline.detect(jpeg, enrol_detect_settings(self.section))
        faces = await asyncio.wrap_future(future)
        face = require_one_face(faces, f"the latest frame from camera {camera_id}")
        self._refresh()
        result = store_enrolment(
            self.vault,
            self._gallery,
            tolerance=self.section.tolerance,
            enrolment=enrolment,
            encoding=face.encoding,
            now=now,
        )
        self._reload()
        log.info("face enrolled: ref=%s consent=%s", enrolment.customer_ref, enrolment.consent_id)
        return result.reply_data()

    def erase(self, ref: str, now: datetime) -> dict[str, object]:
        """`face.erase`: erase an enrolment at once (logged); 404 if there is none."""
        if not self.vault.erase(ref, "request", now):
            raise CommandError(NOT_FOUND, f"no enrolment under reference {ref!r}")
        self._reload()
        self._last_seen.pop(ref, None)
        return {"customer_ref": ref, "erased": True}
