"""The faces part: cameras' snapshots recognised off the loop; enrolment and erasure."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from edge.clock import Clock
from edge.drivers.profiles import ProfileSet
from edge.errors import CommandError
from edge.hub.part import Core, Part
from edge.hub.pipeline import Ack
from edge.model import BAD_ARGS, DONE, NOT_FOUND, Command, Reply


def attach_faces(core: Core, profiles: ProfileSet) -> Part:
    """Face cameras: MQTT snapshots or polled snapshot URLs, recognised off the loop."""
    cfg = core.cfg
    if not cfg.faces.enabled:
        return Part()
    # Imported only when enabled: dlib and its models take seconds and ~100 MB to load.
    from edge.faces import FaceService  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def woken() -> None:
        loop.call_soon_threadsafe(wake.set)  # from a worker thread

    faces = FaceService(cfg.faces, core.tz, base_dir=cfg.base_dir, on_result=woken)
    faces.start()
    part = _cameras(core, profiles, faces)
    part.services.append(faces)

    async def drain_results() -> None:
        while True:
            await wake.wait()
            wake.clear()
            for ev in faces.drain():
                core.pipeline.submit(ev)

    async def face_enroll(cmd: Command) -> Mapping[str, Any]:
        camera = cmd.args.get("camera")
        if not isinstance(camera, str) or camera not in core.devices.entries:
            raise CommandError(BAD_ARGS, "args.camera must name a configured face camera")
        return await faces.enroll_from_camera(camera, cmd.args, core.clock())

    async def face_erase(cmd: Command) -> Mapping[str, Any]:
        ref = cmd.args.get("customer_ref")
        if not isinstance(ref, str):
            raise CommandError(BAD_ARGS, "args.customer_ref is required")
        return faces.erase(ref, core.clock())

    async def close() -> None:
        faces.close()

    part.tasks.append(drain_results)
    part.commands.update({"face.enroll": face_enroll, "face.erase": face_erase})
    part.on_stop.append(close)
    return part


def _cameras(core: Core, profiles: ProfileSet, faces: Any) -> Part:
    """Each camera's snapshots (a topic on the hall broker, or a polled URL) and commands."""
    from edge.faces.snapshot import SnapshotPoller, snapshot_settings  # noqa: PLC0415

    cfg = core.cfg
    part = Part()
    cameras: dict[str, str] = {}  # snapshot topic -> camera id
    for i, dev in enumerate(cfg.devices):
        profile = profiles.get_profile(dev.profile, cfg.source, f"devices[{i}] ({dev.id}).profile")
        spec = profile.face_camera
        if spec is None:
            continue
        part.transports[dev.id] = _CameraCommands(faces, dev.id, core.clock)
        snap = spec.snapshot
        if snap.source == "mqtt" and snap.topic:
            cameras[snap.topic.replace("{device_id}", dev.id)] = dev.id
        else:
            settings = snapshot_settings(
                {**profile_defaults(profile), **dev.settings},
                cfg.source,
                f"devices[{i}] ({dev.id}).settings",
            )
            part.tasks.append(SnapshotPoller(dev.id, settings, faces.submit_frame).run)
    part.subscriptions += cameras

    def on_frame(topic: str, payload: bytes, ack: Ack) -> bool:
        camera = cameras.get(topic)
        if camera is None:
            return False
        faces.submit_frame(camera, payload, core.clock())  # newest wins; never stored
        ack()
        return True

    part.topic_handlers.append(on_frame)
    return part


def profile_defaults(profile: Any) -> dict[str, Any]:
    return {
        k: v.default for k, v in profile.settings.items() if getattr(v, "default", None) is not None
    }


class _CameraCommands:
    """`face.enroll` / `face.erase` addressed to a camera device."""

    def __init__(self, faces: Any, camera: str, clock: Clock) -> None:
        self.faces, self.camera, self.clock = faces, camera, clock

    async def execute(self, cmd: Command) -> Reply:
        now = self.clock()
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
