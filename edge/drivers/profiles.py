"""Loading device model profiles (`firmware-configs/*.yaml`) and checking them once, at load.

Every mistake an installer can make in a profile is reported as a ConfigError naming the
file, the line and the key path, and what was expected: structure by msgspec (types,
unknown or missing keys), then the cross-checks below (framer and its params, converter and
encoder names and params, placeholders, which sections go with which transport).
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from edge.config.schema import convert, explain_choices, key_tokens
from edge.drivers.converters import (
    bind_encoder,
    bind_frame_converter,
    encoder_names,
    template_names,
)
from edge.drivers.device_settings import known_settings
from edge.drivers.framing import FRAMER_NAMES, make_framer
from edge.drivers.profile_schema import MqttLink, Profile
from edge.errors import ConfigError

# The repo's firmware-configs/ folder, next to the `edge` package; a wheel install puts a
# copy under <prefix>/share/hall-edge/firmware-configs (pyproject.toml, data-files).
_CHECKOUT_DIR = Path(__file__).resolve().parents[2] / "firmware-configs"
_INSTALLED_DIR = Path(sys.prefix) / "share" / "hall-edge" / "firmware-configs"
BUILTIN_DIR = _CHECKOUT_DIR if _CHECKOUT_DIR.is_dir() else _INSTALLED_DIR

_KIND_FRAMERS = {"invoice_printer": "escpos_status"}
# Placeholders every command template may use besides its arguments and the settings.
_BUILTIN_NAMES = {"device_id", "cmd_id"}
_HEX = re.compile(r"^[0-9a-fA-F]{4}$")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def builtin_dir() -> Path:
    """The folder of the profiles shipped with hall-edge."""
    return BUILTIN_DIR


def _mapping_child(node: yaml.MappingNode, tokens: list[str | int]) -> tuple[int, yaml.Node, int]:
    """The key among the next tokens (command names contain dots: `ticket.print`)."""
    keys = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    for n in range(len(tokens), 0, -1):
        if all(isinstance(t, str) for t in tokens[:n]):
            name = ".".join(str(t) for t in tokens[:n])
            if name in keys:
                k, v = keys[name]
                return n, v, k.start_mark.line + 1
    if tokens and str(tokens[0]) in keys:  # a YAML integer key (0x0C) named as 12
        k, v = keys[str(tokens[0])]
        return 1, v, k.start_mark.line + 1
    return 0, node, 0


def _line_of(node: yaml.Node | None, key: str) -> int | None:
    """The 1-based line of the deepest node on `key`'s path that exists in the YAML.

    None when not even the first key is in the file (a missing top-level key).
    """
    tokens = key_tokens(key)
    line: int | None = None
    while node is not None and tokens:
        if isinstance(node, yaml.MappingNode):
            used, node, found = _mapping_child(node, tokens)
        elif isinstance(node, yaml.SequenceNode) and isinstance(tokens[0], int):
            item = tokens[0]
            used = 1 if item < len(node.value) else 0
            node = node.value[item] if used else node
            found = node.start_mark.line + 1
        else:
            used = 0
        if not used:
            break
        line, tokens = found, tokens[used:]
    return line


def _explained(exc: ConfigError) -> ConfigError:
    """msgspec's "Invalid enum value 'x'" made into the list of allowed values."""
    return explain_choices(exc, Profile)


def _with_line(exc: ConfigError, root: yaml.Node | None) -> ConfigError:
    exc = _explained(exc)
    line = _line_of(root, exc.key)
    key = f"line {line}: {exc.key}" if line is not None else exc.key
    return ConfigError(exc.file, key, exc.expected, exc.got)


def parse_profile(text: str, file: str, profile_id: str) -> Profile:
    """Validate one profile's YAML text; ConfigError names file, line and key."""
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(file, where, f"valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(file, "", "a YAML mapping (vendor:, model:, kind:, transport: ...)")
    try:
        profile = convert({**data, "id": profile_id, "source": file}, Profile, file)
        check_profile(profile)
    except ConfigError as exc:
        # The node tree (with line numbers) is only built when there is an error to place.
        raise _with_line(exc, yaml.compose(text, Loader=_LOADER)) from None
    return profile


def load_profile(path: str | Path) -> Profile:
    """Read and validate one profile file; its id is the file name without `.yaml`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), "", "a readable YAML file", exc.strerror) from None
    except UnicodeDecodeError:
        raise ConfigError(str(p), "", "UTF-8 text") from None
    return parse_profile(text, str(p), p.stem)


def _files(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.glob("*.yaml") if p.is_file())


class ProfileSet(Mapping[str, Profile]):
    """Profiles by id (file stem); the extra folder's profiles may add models, not replace."""

    def __init__(self, profiles: Mapping[str, Profile]) -> None:
        self._profiles = dict(profiles)

    def __getitem__(self, key: str) -> Profile:
        return self._profiles[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)

    def get_profile(
        self, profile_id: str, file: str = "hall.toml", key: str = "profile"
    ) -> Profile:
        """The profile a device names; ConfigError listing the known ones if it is unknown."""
        if profile_id not in self._profiles:
            known = ", ".join(sorted(self._profiles)) or "none"
            raise ConfigError(file, key, f"a profile from firmware-configs/ ({known})", profile_id)
        return self._profiles[profile_id]


def load_profiles(extra_dir: str | Path | None = None, builtin: Path | None = None) -> ProfileSet:
    """The shipped profiles plus those of `extra_dir` (a hall's own models)."""
    found: dict[str, Profile] = {}
    folders = [builtin or BUILTIN_DIR] + ([Path(extra_dir)] if extra_dir is not None else [])
    for folder in folders:
        if not folder.is_dir():
            if folder is not BUILTIN_DIR:
                raise ConfigError(str(folder), "", "a folder of profile .yaml files")
            continue
        for path in _files(folder):
            profile = load_profile(path)
            if profile.id in found:
                raise ConfigError(
                    str(path), "", f"a model name not already used by {found[profile.id].source}"
                )
            found[profile.id] = profile
    return ProfileSet(found)


# -- cross-checks beyond the structure ------------------------------------------------------


def _fail(p: Profile, key: str, expected: str, got: object = None) -> ConfigError:
    return ConfigError(p.source, key, expected, got)


def check_profile(p: Profile) -> None:
    """The checks msgspec cannot do: names, params, and what goes with which transport."""
    try:
        codecs.lookup(p.encoding)
    except LookupError:
        raise _fail(
            p, "encoding", "a text encoding like gb18030, gbk or utf-8", p.encoding
        ) from None
    if isinstance(p.transport, MqttLink):
        _check_mqtt(p)
    else:
        _check_serial(p)
    if p.printer is not None and p.kind != "invoice_printer":
        raise _fail(p, "printer", "this section only with kind: invoice_printer")
    if p.face_camera is not None and p.kind != "face_camera":
        raise _fail(p, "face_camera", "this section only with kind: face_camera")
    if p.kind == "face_camera":
        _check_face_camera(p)
    for i, usb in enumerate(p.match.usb if p.match else []):
        for field in ("vendor_id", "product_id"):
            value = getattr(usb, field)
            if value is not None and not _HEX.match(value):
                raise _fail(p, f"match.usb[{i}].{field}", "4 hex digits like '1a86'", value)
    for name, spec in p.settings.items():
        if spec.required and spec.default is not None:
            raise _fail(p, f"settings.{name}.default", "no default on a required setting")


def _check_face_camera(p: Profile) -> None:
    if p.face_camera is None:
        raise _fail(p, "face_camera", "a face_camera: section (snapshot source) for this kind")
    snap = p.face_camera.snapshot
    key = "face_camera.snapshot"
    if snap.source == "mqtt":
        if not snap.topic or snap.url_setting is not None:
            raise _fail(p, f"{key}.topic", "a topic (and no url_setting) with source: mqtt")
        unknown = template_names(snap.topic) - set(p.settings) - {"device_id"}
        if unknown:
            raise _fail(
                p, f"{key}.topic", "placeholders among device_id and the settings", snap.topic
            )
    else:
        if snap.url_setting is None or snap.topic is not None:
            raise _fail(p, f"{key}.url_setting", "a url_setting (and no topic) with source: http")
        if snap.url_setting not in p.settings:
            raise _fail(
                p,
                f"{key}.url_setting",
                "the name of a setting declared under settings:",
                snap.url_setting,
            )
    if snap.max_bytes < 1024:
        raise _fail(p, f"{key}.max_bytes", "at least 1024 bytes", snap.max_bytes)


def _serial_only(p: Profile) -> None:
    for key in ("messages", "replies"):
        if getattr(p, key):
            raise _fail(p, key, "no such section on a serial device (it is for MQTT devices)")
    if p.availability is not None:
        raise _fail(p, "availability", "no such section on a serial device")


def _check_serial(p: Profile) -> None:
    _serial_only(p)
    _check_framer(p)
    _check_frames(p)
    _check_serial_encoders(p)
    _check_serial_commands(p)


def _check_framer(p: Profile) -> None:
    if p.framer is None:
        raise _fail(p, "framer", "a framer (one of " + ", ".join(FRAMER_NAMES) + ")")
    if p.framer.name not in FRAMER_NAMES:
        raise _fail(p, "framer.name", "one of " + ", ".join(FRAMER_NAMES), p.framer.name)
    try:
        make_framer(p.framer.name, **p.framer.params)
    except ValueError as exc:
        raise _fail(p, "framer.params", str(exc)) from None
    want = _KIND_FRAMERS.get(p.kind)
    if want is not None and p.framer.name != want:
        raise _fail(p, "framer.name", f"{want} for kind {p.kind}", p.framer.name)


def _check_frames(p: Profile) -> None:
    for i, rule in enumerate(p.frames):
        bind_frame_converter(rule.converter, rule.params, p.source, f"frames[{i}].converter")
        if rule.recall is not None and rule.recall.command not in p.commands:
            raise _fail(
                p, f"frames[{i}].recall.command", "a command of this profile", rule.recall.command
            )
        if rule.when.prefix_hex is not None:
            _hex(p, f"frames[{i}].when.prefix_hex", rule.when.prefix_hex)


def _check_serial_encoders(p: Profile) -> None:
    """The encoders of the acks, the poll and the hot-plug probe."""
    if p.ack is not None:
        bind_encoder(p.ack.encoder, p.ack.params, p.source, "ack.encoder")
    if p.poll is not None:
        bind_encoder(p.poll.encoder, p.poll.params, p.source, "poll.encoder")
        if p.poll.interval_s <= 0:
            raise _fail(p, "poll.interval_s", "seconds above 0", p.poll.interval_s)
    if p.match is not None and p.match.probe is not None:
        bind_encoder(p.match.probe.encoder, p.match.probe.params, p.source, "match.probe.encoder")


def _check_serial_commands(p: Profile) -> None:
    names = set(known_settings(p)) | _BUILTIN_NAMES
    for name, cmd in p.commands.items():
        key = f"commands.{name}"
        if p.kind == "invoice_printer" and name in ("printer.query_status",):
            continue  # answered from the polled status, no bytes of its own
        if cmd.encoder is None:
            raise _fail(p, f"{key}.encoder", "an encoder (serial devices)")
        if cmd.topic is not None or cmd.payload is not None:
            raise _fail(p, f"{key}.topic", "no topic/payload on a serial device")
        used = encoder_names(cmd.encoder, cmd.params, p.source, f"{key}.encoder")
        unknown = sorted(used - names - set(cmd.args))
        if unknown:
            raise _fail(
                p,
                f"{key}.params",
                f"placeholders among its args and settings; unknown: {', '.join(unknown)}",
            )
        _check_args(p, key, cmd.args)


def _hex(p: Profile, key: str, value: str) -> None:
    try:
        bytes.fromhex(value)
    except ValueError:
        raise _fail(p, key, "hex bytes like '4f 4b'", value) from None


def _check_args(p: Profile, key: str, args: Mapping[str, Any]) -> None:
    names = set(args)
    for arg, spec in args.items():
        if isinstance(spec.default, str) and spec.type == "str":
            missing = template_names(spec.default) - names
            if missing:
                raise _fail(
                    p, f"{key}.args.{arg}.default", "placeholders among the args", sorted(missing)
                )


def _check_mqtt(p: Profile) -> None:
    assert isinstance(p.transport, MqttLink)
    _mqtt_only(p)
    if p.transport.convention == "generic":
        for key in ("messages", "replies"):
            if getattr(p, key):
                raise _fail(p, key, "none with convention: generic (hall/devices/{id}/... topics)")
        return
    names = set(p.settings) | {"device_id"}
    for key, topic in _mqtt_topics(p):
        unknown = template_names(topic) - names
        if unknown:
            raise _fail(p, key, f"placeholders among the settings {sorted(names)}", topic)
        if "#" in topic[:-1]:
            raise _fail(p, key, "'#' only at the end of a topic", topic)
    if p.commands and not p.replies:
        raise _fail(p, "replies", "a reply mapping when the device takes commands")


def _mqtt_only(p: Profile) -> None:
    for key in ("framer", "ack", "poll", "printer"):
        if getattr(p, key) is not None:
            raise _fail(p, key, "no such section on an MQTT device (it is for serial devices)")
    if p.frames:
        raise _fail(p, "frames", "no such section on an MQTT device (use messages:)")
    if p.match is not None:
        raise _fail(p, "match", "no hot-plug match on an MQTT device")


def _mqtt_topics(p: Profile) -> list[tuple[str, str]]:
    """(key, topic) of each message, reply, availability and command; each command checked."""
    topics = [(f"messages[{i}].topic", m.topic) for i, m in enumerate(p.messages)]
    topics += [(f"replies[{i}].topic", r.topic) for i, r in enumerate(p.replies)]
    if p.availability is not None:
        topics.append(("availability.topic", p.availability.topic))
    for name, cmd in p.commands.items():
        if cmd.topic is None:
            raise _fail(p, f"commands.{name}.topic", "a topic (vendor MQTT devices)")
        if cmd.encoder is not None:
            raise _fail(p, f"commands.{name}.encoder", "no encoder on an MQTT device")
        topics.append((f"commands.{name}.topic", cmd.topic))
        _check_args(p, f"commands.{name}", cmd.args)
    return topics
