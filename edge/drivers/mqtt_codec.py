"""Vendor MQTT devices: their topics and JSON mapped to catalogue events by the profile. Pure.

The hub owns the hall broker connection; for a device whose profile has `convention: vendor`
it subscribes to `subscriptions()`, passes each message to `decode` (events) or
`decode_reply` / `decode_state`, and publishes what `encode_command` returns. Only the
fields a profile lists are kept, so whatever else a vendor sends (names, ID numbers) never
enters the journal; fields marked `mask` keep only their last 4 characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from paho.mqtt.client import topic_matches_sub

from edge.drivers.args import check_args
from edge.drivers.converters.encoders import render
from edge.drivers.json_input import decode_json
from edge.drivers.masking import mask
from edge.drivers.profile_schema import (
    AvailabilityRule,
    FieldSpec,
    MessageRule,
    MqttLink,
    Profile,
    ReplyRule,
    TimeSpec,
)
from edge.errors import CommandError, PayloadError, shown
from edge.limits import MAX_ID_CHARS, finite, time_in_range
from edge.model import DONE, NOT_FOUND, Command, Event, Reply

MISSING = object()  # what get_path returns for a path not in the document
_PATH = re.compile(r"[^.\[\]]+|\[\d+\]")
_WHOLE = re.compile(r"^\{(\w+)\}$")


def get_path(doc: Any, path: str) -> Any:
    """`data.items[0].name` (or `data.items.0.name`) in parsed JSON; MISSING if absent."""
    node = doc
    for part in _PATH.findall(path):
        index: int | str = int(part[1:-1]) if part.startswith("[") else part
        if isinstance(node, Mapping) and isinstance(index, str):
            node = node.get(index, MISSING)
        elif isinstance(node, list):
            try:
                node = node[int(index)]
            except (ValueError, IndexError):
                return MISSING
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def _as_type(value: Any, kind: str, name: str) -> Any:
    try:
        if kind == "int":
            return value if isinstance(value, int) else round(_finite(value))
        if kind == "float":
            return _finite(value)
        if kind == "str":
            return str(value)
        if kind == "bool":
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
    except (ValueError, TypeError, OverflowError):
        raise PayloadError("bad_value", f"{name} is not {kind}: {shown(value)}") from None
    return value


def _finite(value: Any) -> float:
    # "Infinity", "1e400" and 1e308 * scale would reach the journal as numbers no JSON can
    # carry (and round() of them raises): a measured value is finite or it is wrong.
    number = float(value)
    if not finite(number):
        raise ValueError(value)
    return number


def field_value(doc: Any, spec: FieldSpec | str, name: str) -> Any:
    """One mapped field: looked up, mapped, scaled, typed, masked."""
    if isinstance(spec, str):
        spec = FieldSpec(path=spec)
    value = get_path(doc, spec.path)
    if value is MISSING or value is None:
        if spec.default is not None or not spec.required:
            return spec.default
        raise PayloadError("missing_field", f"{name} (at {spec.path})")
    if spec.map is not None:
        table = {str(k): v for k, v in spec.map.items()}
        key = str(value)
        if key not in table:
            raise PayloadError("unknown_value", f"{name}={shown(value)}")
        value = table[key]
    if spec.scale is not None:
        value = _as_type(value, "float", name) * spec.scale
    if spec.type not in ("any", "list", "dict"):
        value = _as_type(value, spec.type, name)
    return mask(value) if spec.mask else value


def parse_time(doc: Any, spec: TimeSpec) -> datetime | None:
    """The device's time of the message, timezone-aware; PayloadError if unreadable."""
    raw = get_path(doc, spec.path)
    if raw is MISSING or raw is None or raw == "":
        return None
    try:
        if spec.format == "epoch_ms":
            t = datetime.fromtimestamp(_finite(raw) / 1000, UTC)
        elif spec.format == "epoch_s":
            t = datetime.fromtimestamp(_finite(raw), UTC)
        elif spec.format == "rfc3339":
            t = datetime.fromisoformat(str(raw))
        else:
            t = datetime.strptime(str(raw), spec.format)
        if t.tzinfo is None:
            t = t.replace(tzinfo=ZoneInfo(spec.timezone))
    except (ValueError, TypeError, OverflowError, OSError):
        # OSError (EOVERFLOW): an epoch the C library cannot convert, such as -1e20.
        raise PayloadError("bad_time", f"{spec.path}={shown(raw)}") from None
    if not time_in_range(t):
        raise PayloadError("bad_time", f"{spec.path}={shown(raw)}: out of range (1970-2199)")
    return t


def _json(payload: bytes) -> Any:
    try:
        return decode_json(payload, "not_json")
    except PayloadError as exc:
        head = payload[:40].decode("utf-8", "replace")
        raise PayloadError("not_json", f"{exc.detail} ({head!r})") from None


def _fill(template: Any, values: Mapping[str, Any]) -> Any:
    """A JSON template with "{arg}" placeholders; a whole-string placeholder keeps the type."""
    if isinstance(template, str):
        whole = _WHOLE.match(template)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return render(template, values) if "{" in template else template
    if isinstance(template, Mapping):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


class MqttCodec:
    """The mapping of one vendor MQTT device (its profile plus its settings)."""

    def __init__(self, device_id: str, profile: Profile, settings: Mapping[str, Any]) -> None:
        if not isinstance(profile.transport, MqttLink) or profile.transport.convention != "vendor":
            raise ValueError(f"{profile.id} is not a vendor MQTT profile")
        self.device_id = device_id
        self.profile = profile
        self.values: dict[str, Any] = {**settings, "device_id": device_id}
        self._messages = [(self._topic(m.topic), m) for m in profile.messages]
        self._replies = [(self._topic(r.topic), r) for r in profile.replies]
        a = profile.availability
        self._availability: tuple[str, AvailabilityRule] | None = (
            (self._topic(a.topic), a) if a else None
        )

    def _topic(self, pattern: str) -> str:
        return pattern.format_map(self.values)

    def subscriptions(self) -> list[str]:
        """The topic filters to subscribe to for this device."""
        topics = [t for t, _ in self._messages] + [t for t, _ in self._replies]
        if self._availability is not None:
            topics.append(self._availability[0])
        return list(dict.fromkeys(topics))

    def owns(self, topic: str) -> bool:
        """True when `topic` is one of this device's topics."""
        return any(topic_matches_sub(f, topic) for f in self.subscriptions())

    def decode(self, topic: str, payload: bytes) -> list[Event]:
        """Events in a vendor message; PayloadError (for dead letters) if it cannot be mapped."""
        rules = [m for f, m in self._messages if topic_matches_sub(f, topic)]
        if not rules:
            raise PayloadError("unknown_topic", topic)
        doc = _json(payload)
        events = [self._event(rule, doc) for rule in rules if self._when(rule, doc)]
        if not events:
            raise PayloadError("unmapped_message", f"no messages rule of {self.profile.id} fits it")
        return events

    @staticmethod
    def _when(rule: MessageRule, doc: Any) -> bool:
        return all(get_path(doc, path) == value for path, value in rule.when.items())

    def _event(self, rule: MessageRule, doc: Any) -> Event:
        data = dict(rule.constants)
        for name, spec in rule.fields.items():
            data[name] = field_value(doc, spec, name)
        source = get_path(doc, rule.id) if rule.id else MISSING
        source_id = None
        if source is not MISSING and source is not None:
            if isinstance(source, list | dict) or len(text := str(source)) > MAX_ID_CHARS:
                raise PayloadError("bad_value", f"id at {rule.id} is not a short scalar")
            source_id = f"{self.device_id}:{text}"
        return Event(
            rule.event,
            self.device_id,
            data,
            time=parse_time(doc, rule.time) if rule.time else None,
            source_id=source_id,
        )

    def decode_reply(self, topic: str, payload: bytes) -> Reply | None:
        """The reply to a command in a vendor answer; None if the topic is not a reply topic."""
        rule = next((r for f, r in self._replies if topic_matches_sub(f, topic)), None)
        if rule is None:
            return None
        return self._reply(rule, _json(payload))

    def _reply(self, rule: ReplyRule, doc: Any) -> Reply:
        cmd_id = get_path(doc, rule.cmd_id)
        if cmd_id is MISSING or cmd_id is None:
            raise PayloadError("missing_field", f"cmd_id (at {rule.cmd_id})")
        if isinstance(cmd_id, list | dict) or len(str(cmd_id)) > MAX_ID_CHARS:
            raise PayloadError("bad_value", f"cmd_id at {rule.cmd_id} is not a short scalar")
        code = DONE if rule.code is None else field_value(doc, rule.code, "code")
        if not isinstance(code, int) or isinstance(code, bool):
            raise PayloadError("bad_value", f"reply code {code!r} is not a number")
        msg = get_path(doc, rule.msg) if rule.msg else ""
        data = {name: field_value(doc, spec, name) for name, spec in rule.data.items()}
        return Reply(str(cmd_id), code, "" if msg in (MISSING, None) else str(msg), data)

    def decode_state(self, topic: str, payload: bytes) -> bool | None:
        """Online (True) / offline (False) from the vendor's availability topic, else None."""
        if self._availability is None or not topic_matches_sub(self._availability[0], topic):
            return None
        rule = self._availability[1]
        try:
            doc: Any = decode_json(payload, "not_json")
        except PayloadError:
            doc = payload.decode("utf-8", "replace").strip()
        value = doc if rule.path is None else get_path(doc, rule.path)
        return value in rule.online or str(value) in [str(v) for v in rule.online]

    def encode_command(self, cmd: Command) -> list[tuple[str, bytes]]:
        """(topic, payload) to publish for a command; CommandError 404/400 if it cannot be."""
        spec = self.profile.commands.get(cmd.name)
        if spec is None or spec.topic is None:
            known = ", ".join(sorted(self.profile.commands)) or "none"
            raise CommandError(
                NOT_FOUND, f"{self.profile.id} has no command {cmd.name} (it takes: {known})"
            )
        args = check_args(spec.args, cmd.args, cmd.name, spec.extra_args)
        values = {**self.values, **args, "cmd_id": cmd.cmd_id}
        payload = _fill(spec.payload if spec.payload is not None else args, values)
        return [(render(spec.topic, values), msgspec.json.encode(payload))]
