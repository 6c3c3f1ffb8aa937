"""One serial device's meaning, as its profile describes it: frames -> events, commands -> frames.

An endpoint does no I/O of its own: the line it is attached to (serial_device.py) reads the
port, frames the bytes and hands each frame to the endpoint of its bus address; the
endpoint sends through the line. It submits each event to the hub and sends the
acknowledgement only once the hub says the event is committed, so a device that resends
for want of an ack is journaled once and acknowledged again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from edge.clock import Clock, utcnow
from edge.drivers.args import check_args
from edge.drivers.converters import (
    Decoded,
    DeviceContext,
    EncodeFn,
    FrameFn,
    Outgoing,
    bind_encoder,
    bind_frame_converter,
)
from edge.drivers.framing import Frame
from edge.drivers.port import HubPort
from edge.drivers.profile_schema import CommandSpec, FrameMatch, FrameRule, Profile
from edge.errors import CommandError, LinkError, PayloadError
from edge.model import (
    DEVICE_ERROR,
    DONE,
    NOT_FOUND,
    OFFLINE,
    TIMEOUT,
    Command,
    Event,
    Reply,
)

log = logging.getLogger(__name__)

FramePredicate = Callable[[Frame], bool]


class LineIO(Protocol):
    """What a connected line offers the endpoints on it."""

    name: str

    def send(self, items: Sequence[Outgoing]) -> None:
        """Encode frames with the line's framer and write them; LinkError if the link is gone."""
        ...

    async def request(
        self, address: int | None, items: Sequence[Outgoing], match: FramePredicate, wait_s: float
    ) -> Frame | None:
        """Send, then await the first frame from `address` that `match`es; None on time-out.

        Exchanges on one line take turns (an RS-485 bus is half duplex).
        """
        ...


def frame_matcher(m: FrameMatch, encoding: str) -> FramePredicate:
    """A FrameMatch from a profile compiled into a predicate."""
    prefix = b""
    if m.prefix is not None:
        prefix = m.prefix.encode(encoding)
    elif m.prefix_hex is not None:
        prefix = bytes.fromhex(m.prefix_hex)

    def matches(frame: Frame) -> bool:
        return (
            (m.command is None or frame.command == m.command)
            and (m.address is None or frame.address == m.address)
            and frame.payload.startswith(prefix)
            and (m.min_length is None or len(frame.payload) >= m.min_length)
        )

    return matches


@dataclass(slots=True)
class _Rule:
    spec: FrameRule
    matches: FramePredicate
    convert: FrameFn


@dataclass(slots=True)
class _Seen:
    """A frame already submitted, remembered to recognise the device resending it."""

    at: float  # time.monotonic(): a resend is a matter of real seconds, whatever the clock
    decoded: Decoded
    ack: bool
    committed: bool = False


@dataclass(frozen=True, slots=True)
class Journaled:
    """An event of this device the journal already holds (from before a restart)."""

    type: str
    data: Mapping[str, Any]
    at: datetime


@dataclass(slots=True)
class _Remembered:
    args: dict[str, Any]
    at: float  # time.monotonic()


@dataclass(slots=True)
class Presence:
    """Online/offline as reported to the hub: only changes are passed on."""

    device_id: str
    port: HubPort
    online: bool | None = None
    reason: str = field(default="")

    def set(self, online: bool, reason: str = "") -> None:
        """Record the state and tell the hub, if it changed."""
        if online != self.online:
            self.online, self.reason = online, reason
            self.port.set_online(self.device_id, online, reason)


class Endpoint:
    """A device on a serial line, driven by its profile."""

    def __init__(
        self,
        device_id: str,
        profile: Profile,
        settings: Mapping[str, Any],
        port: HubPort,
        clock: Clock = utcnow,
    ) -> None:
        self.device_id = device_id
        self.profile = profile
        self.settings = dict(settings)
        self.port = port
        self.clock = clock
        self.ctx = DeviceContext(device_id, self.settings, profile.encoding)
        self.presence = Presence(device_id, port)
        multidrop = profile.serial is not None and profile.serial.multidrop
        self.address: int | None = self.settings.get("address") if multidrop else None
        src = profile.source
        self._rules = [
            _Rule(
                r,
                frame_matcher(r.when, profile.encoding),
                bind_frame_converter(r.converter, r.params, src, f"frames[{i}].converter"),
            )
            for i, r in enumerate(profile.frames)
        ]
        self._ack: EncodeFn | None = (
            bind_encoder(profile.ack.encoder, profile.ack.params, src, "ack.encoder")
            if profile.ack
            else None
        )
        self._dedupe_s = profile.ack.dedupe_window_s if profile.ack else 0.0
        self._encoders: dict[str, EncodeFn] = {
            name: bind_encoder(c.encoder, c.params, src, f"commands.{name}.encoder")
            for name, c in profile.commands.items()
            if c.encoder is not None
        }
        self._recent: OrderedDict[tuple[Any, ...], _Seen] = OrderedDict()
        self._before: list[Journaled] = []  # journaled by the last hub run, within the window
        self._remembered: dict[str, _Remembered] = {}
        self.line: LineIO | None = None

    # -- line life cycle ---------------------------------------------------------------------

    def attach(self, line: LineIO) -> None:
        """The line is connected: the device is reachable."""
        self.line = line
        self.presence.set(True, f"port {line.name} open")

    def detach(self, reason: str) -> None:
        """The line is gone (unplugged, closed): the device is offline until it returns."""
        self.line = None
        self.presence.set(False, reason)

    def values(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        """What encoder templates may use: the settings, the device id, then `extra`."""
        return {**self.settings, "device_id": self.device_id, **extra}

    # -- frames in ---------------------------------------------------------------------------

    def on_frame(self, frame: Frame, expected: bool = False) -> None:
        """A frame from this device; `expected` when it answered a request of ours."""
        self.presence.set(True, "device answered")
        for rule in self._rules:
            if not rule.matches(frame):
                continue
            try:
                decoded = rule.convert(frame, self.ctx)
            except PayloadError as exc:
                self._dead(frame, str(exc))
                return
            if decoded is not None:
                self._submit(frame, decoded, rule.spec)
            return
        if not expected:
            self._dead(frame, "no_rule: no frames rule of the profile matches")

    def _dead(self, frame: Frame, reason: str) -> None:
        where = self.line.name if self.line else "serial"
        self.port.dead_letter(self.device_id, frame.raw, where, reason)

    @property
    def dedupe_window_s(self) -> float:
        """How long a resent frame is recognised (the profile's ack.dedupe_window_s)."""
        return self._dedupe_s

    def recall_journaled(self, events: Sequence[Journaled]) -> None:
        """At start: this device's events the journal got within the dedupe window, so a
        frame resent across a hub restart (journaled, its ack never sent) is not taken for
        a new one. The in-memory dedupe covers the rest of the run."""
        if self._dedupe_s > 0:
            self._before = list(events)

    def _journaled_before(self, decoded: Decoded, now: datetime) -> bool:
        self._before = [j for j in self._before if (now - j.at).total_seconds() <= self._dedupe_s]
        return any(
            j.type == decoded.type and all(j.data.get(k) == v for k, v in decoded.data.items())
            for j in self._before
        )

    def _submit(self, frame: Frame, decoded: Decoded, rule: FrameRule) -> None:
        # Two clocks: the hall's (`self.clock`, what the event says happened, simulated in
        # the demo) and the real one for the protocol's windows (a device resends after
        # real seconds, however fast a demo's day runs).
        now = self.clock()
        mono = time.monotonic()
        self._forget_before(mono)
        key = (frame.address, frame.command, frame.payload)
        seen = self._recent.get(key)
        if seen is None and self._before and self._journaled_before(decoded, now):
            # Journaled by the hub before its restart; the ack was lost with it.
            seen = _Seen(mono, decoded, ack=rule.ack and self._ack is not None, committed=True)
            self._recent[key] = seen
        if seen is not None:
            # The device resent a frame we already journaled: it missed the ack.
            if seen.committed and seen.ack:
                self._send_ack(frame, seen.decoded)
            return
        data = dict(decoded.data)
        if rule.recall is not None:
            self._recall(rule, data, mono)
        event = Event(decoded.type, self.device_id, data, time=now, source_id=decoded.source_id)
        seen = _Seen(mono, decoded, ack=rule.ack and self._ack is not None)
        if self._dedupe_s > 0:
            self._recent[key] = seen

        def committed() -> None:
            seen.committed = True
            if seen.ack:
                self._send_ack(frame, decoded)

        self.port.submit(event, committed)

    def _forget_before(self, mono: float) -> None:
        while self._recent:
            key, seen = next(iter(self._recent.items()))
            if mono - seen.at <= self._dedupe_s:
                break
            del self._recent[key]

    def _recall(self, rule: FrameRule, data: dict[str, Any], mono: float) -> None:
        assert rule.recall is not None
        rem = self._remembered.get(rule.recall.command)
        fresh = rem is not None and mono - rem.at <= rule.recall.max_age_s
        for name in rule.recall.fields:
            data[name] = rem.args.get(name) if rem is not None and fresh else None
        if rem is not None and (rule.recall.consume or not fresh):
            del self._remembered[rule.recall.command]

    def _send_ack(self, frame: Frame, decoded: Decoded) -> None:
        if self._ack is None or self.line is None:
            return  # link gone: the device resends and is acknowledged then
        try:
            self.line.send(self._ack(self.values(decoded.data), self.ctx, frame))
        except LinkError:
            # The cable went between the frame and its ACK: the line's reader reports the
            # loss (once), and the device resends the frame after the reconnect.
            return
        except CommandError as exc:
            self.port.log_error(self.device_id, f"acknowledgement not sent: {exc}")

    # -- polling -----------------------------------------------------------------------------

    async def poll_loop(self) -> None:
        """Poll per the profile while attached; unanswered polls take the device offline."""
        poll = self.profile.poll
        if poll is None:
            return
        encode = bind_encoder(poll.encoder, poll.params, self.profile.source, "poll.encoder")
        matches = frame_matcher(poll.reply, self.profile.encoding) if poll.reply else None
        misses = 0
        while self.line is not None:
            try:
                items = encode(self.values({}), self.ctx, None)
                if matches is None:
                    self.line.send(items)
                elif await self.line.request(self.address, items, matches, poll.timeout_s) is None:
                    misses += 1
                    if misses >= poll.offline_after:
                        self.presence.set(False, f"no answer to {misses} polls")
                else:
                    misses = 0
            except CommandError as exc:
                self.port.log_error(self.device_id, f"poll not sent: {exc}")
            await asyncio.sleep(poll.interval_s)

    # -- commands ----------------------------------------------------------------------------

    def command_spec(self, cmd: Command) -> CommandSpec:
        """The profile's spec of a command; CommandError(404) if the model has none."""
        spec = self.profile.commands.get(cmd.name)
        if spec is None:
            known = ", ".join(sorted(self.profile.commands)) or "none"
            raise CommandError(
                NOT_FOUND, f"{self.profile.id} has no command {cmd.name} (it takes: {known})"
            )
        return spec

    def connected_line(self) -> LineIO:
        """The line to send on; CommandError(503) while the device is offline."""
        if self.line is None or self.presence.online is False:
            raise CommandError(
                OFFLINE, f"{self.device_id} is offline: {self.presence.reason or 'not connected'}"
            )
        return self.line

    async def execute(self, cmd: Command) -> Reply:
        """Check, encode and send a command; await the device's answer if the profile has one."""
        spec = self.command_spec(cmd)
        args = check_args(spec.args, cmd.args, cmd.name, spec.extra_args)
        line = self.connected_line()
        items = self._encoders[cmd.name](
            self.values({**args, "cmd_id": cmd.cmd_id}), self.ctx, None
        )
        # Remembered before sending: a pad may answer the rating faster than the reply arrives.
        self._remembered[cmd.name] = _Remembered(args, time.monotonic())
        try:
            if spec.reply is None:
                line.send(items)
                return Reply(cmd.cmd_id, DONE, "sent")
            ok = frame_matcher(spec.reply.when, self.profile.encoding)
            bad = (
                frame_matcher(spec.reply.error_when, self.profile.encoding)
                if spec.reply.error_when
                else None
            )
            answer = await line.request(
                self.address,
                items,
                lambda f: ok(f) or (bad is not None and bad(f)),
                spec.reply.timeout_s,
            )
        except LinkError as exc:
            self._remembered.pop(cmd.name, None)
            raise CommandError(OFFLINE, str(exc)) from None
        if answer is None:
            self._remembered.pop(cmd.name, None)
            raise CommandError(
                TIMEOUT, f"{self.device_id} did not answer {cmd.name} in {spec.reply.timeout_s:g} s"
            )
        text = answer.payload.decode(self.profile.encoding, "replace")
        if bad is not None and bad(answer) and not ok(answer):
            self._remembered.pop(cmd.name, None)
            raise CommandError(DEVICE_ERROR, f"{self.device_id} refused {cmd.name}: {text}")
        return Reply(
            cmd.cmd_id, DONE, "done", {"answer": text} if text.isprintable() and text else {}
        )
