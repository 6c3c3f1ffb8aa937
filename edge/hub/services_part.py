"""Wiring the services fed by journaled events: queue manager, KPIs, face pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from edge.drivers.profiles import ProfileSet
from edge.errors import CommandError
from edge.hub.app import Hub
from edge.hub.pipeline import Ack
from edge.kpi import KpiService
from edge.model import (
    ACCEPTED,
    BAD_ARGS,
    DONE,
    NOT_FOUND,
    Command,
    Event,
    JournaledEvent,
    Output,
    Reply,
)
from edge.queue import HUB_COMMANDS, QueueManager, command_to_event, request_id_of
from edge.store import JournalReader

log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()


class _StatusPublisher:
    """Retained `queue.status` per service on the hall broker and the cloud, as the queue
    issue asks: a screen or a cloud dashboard that connects gets the current state at once."""

    name = "queue-status"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        if event.type == "queue.status" and not event.replayed:
            service = str(event.data.get("service", "all"))
            body = _json.encode(
                {**event.data, "time": event.time.isoformat(), "hallseq": event.seq}
            )
            self.hub.hall.publish(f"hall/queue/status/{service}", body, 1, True)
            self.hub.uplink.publish_raw(
                f"halls/{self.hub.cfg.hall.id}/queue/status/{service}", body, retain=True
            )
        return ()

    def tick(self, now: datetime) -> Sequence[Output]:
        return ()


def attach_queue(hub: Hub) -> QueueManager | None:
    cfg = hub.cfg
    qm = QueueManager(cfg.queue, hub.tz)
    if not qm.active:
        return None
    now = datetime.now(UTC)
    start = qm.day_start(now)
    # State is rebuilt from today's journal; inputs answered by nothing yet are decided now.
    outputs = qm.rebuild(hub.reader.events(start, now + timedelta(days=1)))
    hub.add_service(qm)
    hub.add_service(_StatusPublisher(hub))
    hub.carry_out(outputs)

    def make_handler(name: str) -> Any:
        async def handler(cmd: Command) -> Mapping[str, Any]:
            event = command_to_event(cmd, cfg.queue)
            hub.pipeline.submit(event)
            return {"_code": ACCEPTED, "request_id": request_id_of(event)}

        return handler

    for name in HUB_COMMANDS:
        hub.router.register(name, make_handler(name))
    log.info("queue: %d services, %d counters", len(cfg.queue.services), len(cfg.queue.counters))
    return qm


FEEDBACK_ID_MAX = 64
FEEDBACK_NOTE_MAX = 200


def feedback_closed_event(cmd: Command) -> Event:
    """The `feedback.closed` a `feedback.close` command stands for; CommandError(400)."""
    unknown = sorted(set(cmd.args) - {"feedback_id", "note"})
    if unknown:
        raise CommandError(
            BAD_ARGS, f"feedback.close takes no argument {', '.join(unknown)} (feedback_id, note)"
        )
    fid = cmd.args.get("feedback_id")
    if not isinstance(fid, str) or not fid.strip() or len(fid) > FEEDBACK_ID_MAX:
        raise CommandError(
            BAD_ARGS, f"feedback_id must be a non-empty string of at most {FEEDBACK_ID_MAX}"
        )
    note = cmd.args.get("note", "")
    if not isinstance(note, str) or len(note) > FEEDBACK_NOTE_MAX:
        raise CommandError(BAD_ARGS, f"note must be a string of at most {FEEDBACK_NOTE_MAX}")
    data: dict[str, Any] = {"feedback_id": fid, "cmd_id": cmd.cmd_id}
    if note:
        data["note"] = note
    # As for queue.issue: an event made from a cloud command is the cloud's; a rule's, the hub's.
    return Event("feedback.closed", "cloud" if cmd.origin == "cloud" else "hub", data)


def attach_feedback(hub: Hub) -> None:
    """`feedback.close` on the hub: journals a `feedback.closed`, which closes a complaint
    for the KPIs. The reply (200) comes once the event is committed."""

    async def close(cmd: Command) -> Mapping[str, Any]:
        event = feedback_closed_event(cmd)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def committed() -> None:
            if not done.done():
                done.set_result(None)

        hub.pipeline.submit(event, committed)
        await done
        return {"feedback_id": event.data["feedback_id"], "closed": True}

    hub.router.register("feedback.close", close)


class _KpiInThread:
    """KPIs read a month of journal (≈1–2 s for a busy hall): off the loop, on one thread
    with its own read connection, so devices keep being served meanwhile."""

    name = "kpi"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="kpi")
        self.reader = JournalReader(hub.db_path)
        self.kpi = KpiService(hub.cfg.kpi, hub.tz, self.reader.events)
        self._running: asyncio.Future[Sequence[Output]] | None = None

    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        return self.kpi.handle(event)

    def tick(self, now: datetime) -> Sequence[Output]:
        fut = self._running
        if fut is not None:
            if not fut.done():
                return ()
            self._running = None
            try:
                return fut.result()
            except Exception:
                log.exception("kpi tick failed")
                return ()
        loop = asyncio.get_running_loop()
        self._running = loop.run_in_executor(self.executor, self.kpi.tick, now)
        return ()

    async def report(self, cmd: Command) -> Mapping[str, Any]:
        day, month = cmd.args.get("day"), cmd.args.get("month")
        if (day is not None and not isinstance(day, str)) or (
            month is not None and not isinstance(month, str)
        ):
            raise CommandError(BAD_ARGS, "day must be YYYY-MM-DD and month YYYY-MM")
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(
            self.executor, lambda: self.kpi.report(day=day, month=month)
        )
        if cmd.args.get("publish") and month:
            self.hub.pipeline.submit(self.kpi.model_window_event(month))
        return {"_code": DONE, **data}

    async def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def attach_kpi(hub: Hub) -> None:
    if not hub.cfg.kpi.enabled:
        return
    part = _KpiInThread(hub)
    hub.add_service(part)
    hub.router.register("kpi.report", part.report)
    hub.on_stop.append(part.close)


def attach_faces(hub: Hub, profiles: ProfileSet) -> None:
    """Face cameras: MQTT snapshots or polled snapshot URLs, recognised off the loop."""
    cfg = hub.cfg
    if not cfg.faces.enabled:
        return
    # Imported only when enabled: dlib and its models take seconds and ~100 MB to load.
    from edge.faces import FaceService  # noqa: PLC0415
    from edge.faces.snapshot import SnapshotPoller, snapshot_settings  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def woken() -> None:
        loop.call_soon_threadsafe(wake.set)  # from a worker thread

    faces = FaceService(cfg.faces, hub.tz, base_dir=cfg.base_dir, on_result=woken)
    faces.start()
    hub.add_service(faces)
    cameras: dict[str, str] = {}  # snapshot topic -> camera id
    for i, dev in enumerate(cfg.devices):
        profile = profiles.get_profile(dev.profile, cfg.source, f"devices[{i}] ({dev.id}).profile")
        spec = profile.face_camera
        if spec is None:
            continue
        hub.devices.entries[dev.id].transport = _CameraCommands(faces, dev.id)
        snap = spec.snapshot
        if snap.source == "mqtt" and snap.topic:
            cameras[snap.topic.replace("{device_id}", dev.id)] = dev.id
        else:
            settings = snapshot_settings(
                {**profile_defaults(profile), **dev.settings},
                cfg.source,
                f"devices[{i}] ({dev.id}).settings",
            )
            poller = SnapshotPoller(dev.id, settings, faces.submit_frame)
            hub.background.append(poller.run)
    hub.subscriptions.extend(cameras)

    def on_frame(topic: str, payload: bytes, ack: Ack) -> bool:
        camera = cameras.get(topic)
        if camera is None:
            return False
        faces.submit_frame(camera, payload, datetime.now(UTC))  # newest wins; never stored
        ack()
        return True

    hub.topic_handlers.append(on_frame)

    async def drain_results() -> None:
        while True:
            await wake.wait()
            wake.clear()
            for ev in faces.drain():
                hub.pipeline.submit(ev)

    hub.background.append(drain_results)

    async def face_enroll(cmd: Command) -> Mapping[str, Any]:
        camera = cmd.args.get("camera")
        if not isinstance(camera, str) or camera not in hub.devices.entries:
            raise CommandError(BAD_ARGS, "args.camera must name a configured face camera")
        return await faces.enroll_from_camera(camera, cmd.args, datetime.now(UTC))

    async def face_erase(cmd: Command) -> Mapping[str, Any]:
        ref = cmd.args.get("customer_ref")
        if not isinstance(ref, str):
            raise CommandError(BAD_ARGS, "args.customer_ref is required")
        return faces.erase(ref, datetime.now(UTC))

    hub.router.register("face.enroll", face_enroll)
    hub.router.register("face.erase", face_erase)

    async def close() -> None:
        faces.close()

    hub.on_stop.append(close)


def profile_defaults(profile: Any) -> dict[str, Any]:
    return {
        k: v.default for k, v in profile.settings.items() if getattr(v, "default", None) is not None
    }


class _CameraCommands:
    """`face.enroll` / `face.erase` addressed to a camera device."""

    def __init__(self, faces: Any, camera: str) -> None:
        self.faces, self.camera = faces, camera

    async def execute(self, cmd: Command) -> Reply:
        now = datetime.now(UTC)
        try:
            if cmd.name == "face.enroll":
                data = await self.faces.enroll_from_camera(self.camera, cmd.args, now)
            elif cmd.name == "face.erase":
                data = self.faces.erase(str(cmd.args.get("customer_ref", "")), now)
            else:
                return Reply(cmd.cmd_id, NOT_FOUND, f"a face camera has no command {cmd.name!r}")
        except CommandError as exc:
            return Reply(cmd.cmd_id, exc.code, exc.msg)
        return Reply(cmd.cmd_id, DONE, "ok", data)
