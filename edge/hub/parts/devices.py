"""The devices part: serial drivers, vendor MQTT codecs, the profiles' command lists."""

from __future__ import annotations

import logging
from datetime import timedelta

from edge.drivers.endpoint import Endpoint, Journaled
from edge.drivers.mqtt_codec import MqttCodec
from edge.drivers.profiles import ProfileSet
from edge.drivers.registry import DriverEnv, build_codec, build_drivers
from edge.drivers.serial_device import SerialDriver
from edge.errors import CommandError, PayloadError
from edge.hub.devices import DeviceTable
from edge.hub.hall_link import HallLink
from edge.hub.intake import Intake
from edge.hub.mqtt_intake import TopicHandler
from edge.hub.part import Core, Part
from edge.hub.pipeline import Ack
from edge.model import DEVICE_ERROR, DONE, Command, Reply
from edge.store import DeadLetter

log = logging.getLogger(__name__)


class CodecTransport:
    """Commands to a vendor-format MQTT device: published through its codec."""

    def __init__(
        self, hall: HallLink, devices: DeviceTable, codec: MqttCodec, expects_reply: bool
    ) -> None:
        self.hall, self.devices, self.codec = hall, devices, codec
        self.expects_reply = expects_reply

    async def execute(self, cmd: Command) -> Reply:
        messages = self.codec.encode_command(cmd)  # CommandError 400/404 passes through
        fut = self.devices.expect_reply(cmd.cmd_id) if self.expects_reply else None
        try:
            for topic, payload in messages:
                if not self.hall.publish(topic, payload, 1, False):
                    raise CommandError(DEVICE_ERROR, "hall broker unreachable")
            if fut is None:
                return Reply(cmd.cmd_id, DONE, "sent")
            return await fut
        finally:
            if fut is not None:
                self.devices.forget_reply(cmd.cmd_id)


def _codec_handler(core: Core, device_id: str, codec: MqttCodec) -> TopicHandler:
    limit = core.cfg.hall_broker.max_message_bytes
    intake: Intake = core.intake

    def handle(topic: str, payload: bytes, ack: Ack) -> bool:
        if not codec.owns(topic):
            return False
        if len(payload) > limit:
            detail = f"{len(payload)} bytes, limit {limit}"
            intake.dead(DeadLetter(topic, "too_large", detail, payload, device_id), ack)
            return True
        state = codec.decode_state(topic, payload)
        if state is not None:
            intake.set_online(device_id, state, "", ack)
            return True
        try:
            reply = codec.decode_reply(topic, payload)
            events = [] if reply is not None else codec.decode(topic, payload)
        except PayloadError as exc:
            intake.dead(DeadLetter(topic, exc.reason, exc.detail, payload, device_id), ack)
            return True
        if reply is not None:
            core.devices.deliver_reply(reply)
            ack()
            return True
        if not events:
            ack()
            return True
        # One message may carry several events: acknowledged once, after the last commit.
        for ev in events[:-1]:
            intake.submit(ev)
        intake.submit(events[-1], ack)
        return True

    return handle


def _recall_journaled(core: Core, endpoint: Endpoint) -> None:
    """A serial device's frames journaled in its dedupe window before this start: the hub
    may have died between a commit and the ack, and the device resends such a frame."""
    window = endpoint.dedupe_window_s
    if window <= 0:
        return
    since = core.clock() - timedelta(seconds=window)
    endpoint.recall_journaled(
        [
            Journaled(t, d, at)
            for t, d, at in core.reader.device_events_since(endpoint.device_id, since)
        ]
    )


def attach_devices(core: Core, profiles: ProfileSet) -> Part:
    """Build every configured device's driver or codec; errors name the config file and key."""
    cfg = core.cfg
    file = cfg.source
    part = Part()
    for i, dev in enumerate(cfg.devices):
        profile = profiles.get_profile(dev.profile, file, f"devices[{i}] ({dev.id}).profile")
        entry = core.devices.entries[dev.id]
        if profile.commands:
            entry.commands = frozenset(profile.commands)
            entry.specs = dict(profile.commands)
        codec = build_codec(dev, profile, file, f"devices[{i}] ({dev.id})")
        if codec is not None:
            part.subscriptions += codec.subscriptions()
            part.topic_handlers.append(_codec_handler(core, dev.id, codec))
            expects = bool(profile.replies)
            part.transports[dev.id] = CodecTransport(core.hall, core.devices, codec, expects)
    env = DriverEnv(clock=core.clock)
    drivers = build_drivers(cfg.devices, profiles, core.intake, env=env, file=file)
    for device_id, driver in drivers.items():
        part.transports[device_id] = driver
        part.tasks.append(driver.run)
        if isinstance(driver, SerialDriver) and isinstance(driver.endpoint, Endpoint):
            _recall_journaled(core, driver.endpoint)

    async def close_watcher() -> None:
        await env.watcher.close()

    part.on_stop.append(close_watcher)
    log.info(
        "devices: %d serial drivers, %d vendor MQTT codecs",
        len(drivers),
        len(part.transports) - len(drivers),
    )
    return part
