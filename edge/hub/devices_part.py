"""Wiring the device layer into the hub: serial drivers, vendor MQTT codecs, profiles."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from edge.drivers.endpoint import Endpoint, Journaled
from edge.drivers.mqtt_codec import MqttCodec
from edge.drivers.profiles import ProfileSet
from edge.drivers.registry import DriverEnv, build_codec, build_drivers
from edge.drivers.serial_device import SerialDriver
from edge.errors import CommandError, PayloadError
from edge.hub.app import Hub
from edge.hub.pipeline import Ack
from edge.model import DEVICE_ERROR, DONE, Command, Reply
from edge.store import DeadLetter

log = logging.getLogger(__name__)


class CodecTransport:
    """Commands to a vendor-format MQTT device: published through its codec."""

    def __init__(self, hub: Hub, codec: MqttCodec, expects_reply: bool) -> None:
        self.hub, self.codec, self.expects_reply = hub, codec, expects_reply

    async def execute(self, cmd: Command) -> Reply:
        messages = self.codec.encode_command(cmd)  # CommandError 400/404 passes through
        fut = self.hub.devices.expect_reply(cmd.cmd_id) if self.expects_reply else None
        try:
            for topic, payload in messages:
                if not self.hub.hall.publish(topic, payload, 1, False):
                    raise CommandError(DEVICE_ERROR, "hall broker unreachable")
            if fut is None:
                return Reply(cmd.cmd_id, DONE, "sent")
            return await fut
        finally:
            if fut is not None:
                self.hub.devices.forget_reply(cmd.cmd_id)


def _codec_handler(hub: Hub, device_id: str, codec: MqttCodec) -> Callable[[str, bytes, Ack], bool]:
    limit = hub.cfg.hall_broker.max_message_bytes

    def handle(topic: str, payload: bytes, ack: Ack) -> bool:
        if not codec.owns(topic):
            return False
        if len(payload) > limit:
            detail = f"{len(payload)} bytes, limit {limit}"
            hub.pipeline.dead_letter(
                DeadLetter(topic, "too_large", detail, payload, device_id), ack
            )
            return True
        state = codec.decode_state(topic, payload)
        if state is not None:
            hub.devices.set_online(device_id, state, "", ack)
            return True
        try:
            reply = codec.decode_reply(topic, payload)
        except PayloadError as exc:
            hub.pipeline.dead_letter(
                DeadLetter(topic, exc.reason, exc.detail, payload, device_id), ack
            )
            return True
        if reply is not None:
            hub.devices.deliver_reply(reply)
            ack()
            return True
        try:
            events = codec.decode(topic, payload)
        except PayloadError as exc:
            hub.pipeline.dead_letter(
                DeadLetter(topic, exc.reason, exc.detail, payload, device_id), ack
            )
            return True
        if not events:
            ack()
            return True
        # One message may carry several events: acknowledged once, after the last commit.
        for ev in events[:-1]:
            hub.pipeline.submit(ev)
        hub.pipeline.submit(events[-1], ack)
        return True

    return handle


def _recall_journaled(hub: Hub, endpoint: Endpoint) -> None:
    """A serial device's frames journaled in its dedupe window before this start: the hub
    may have died between a commit and the ack, and the device resends such a frame."""
    window = endpoint.dedupe_window_s
    if window <= 0:
        return
    since = datetime.now(UTC) - timedelta(seconds=window)
    endpoint.recall_journaled(
        [
            Journaled(t, d, at)
            for t, d, at in hub.reader.device_events_since(endpoint.device_id, since)
        ]
    )


def attach_devices(hub: Hub, profiles: ProfileSet) -> DriverEnv:
    """Build every configured device's driver or codec; errors name the config file and key."""
    cfg = hub.cfg
    file = cfg.source
    for i, dev in enumerate(cfg.devices):
        profile = profiles.get_profile(dev.profile, file, f"devices[{i}] ({dev.id}).profile")
        entry = hub.devices.entries[dev.id]
        entry.profile_kind = str(profile.kind)
        if profile.commands:
            entry.commands = frozenset(profile.commands)
            entry.specs = dict(profile.commands)
        codec = build_codec(dev, profile, file, f"devices[{i}] ({dev.id})")
        if codec is not None:
            hub.subscriptions.extend(codec.subscriptions())
            hub.topic_handlers.append(_codec_handler(hub, dev.id, codec))
            entry.transport = CodecTransport(hub, codec, bool(profile.replies))
    env = DriverEnv()
    drivers = build_drivers(cfg.devices, profiles, hub.devices, env=env, file=file)
    for device_id, driver in drivers.items():
        hub.devices.entries[device_id].transport = driver
        hub.background.append(driver.run)
        if isinstance(driver, SerialDriver) and isinstance(driver.endpoint, Endpoint):
            _recall_journaled(hub, driver.endpoint)

    async def close_watcher() -> None:
        await env.watcher.close()

    hub.on_stop.append(close_watcher)
    log.info(
        "devices: %d serial drivers, %d vendor MQTT codecs",
        len(drivers),
        sum(1 for e in hub.devices.entries.values() if isinstance(e.transport, CodecTransport)),
    )
    return env
