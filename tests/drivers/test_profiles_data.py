"""The shipped profiles as data: every file loads, and mistakes are named precisely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.config.hub import DeviceSection
from edge.drivers.args import check_args
from edge.drivers.converters import DeviceContext, bind_encoder
from edge.drivers.device_settings import device_settings
from edge.drivers.framing import make_framer
from edge.drivers.profile_schema import KINDS
from edge.drivers.profiles import (
    BUILTIN_DIR,
    ProfileSet,
    load_profile,
    load_profiles,
    parse_profile,
)
from edge.errors import ConfigError

SHIPPED = sorted(BUILTIN_DIR.glob("*.yaml"))

# Arguments good enough for every command of the shipped serial profiles.
SAMPLE_ARGS: dict[str, dict[str, Any]] = {
    "caller.show_digits": {"text": "A012"},
    "caller.beep": {"times": 2},
    "rating.start": {"rating_id": "r1", "ticket_no": "A012"},
    "rating.cancel": {},
    "ticket.print": {"request_id": "K1-0001", "ticket_no": "A012", "service": "payment"},
    "ticket.refuse": {"request_id": "K1-0002", "reason": "closed", "text": "暂停取号"},
    "display.show_call": {"ticket_no": "A012", "counter": 3},
    "voice.announce": {"text": "请A012号到3号窗口"},
    "printer.print_invoice": {"invoice_no": "00012345", "amount_cents": 12850},
}


def test_every_shipped_profile_loads() -> None:
    assert len(SHIPPED) >= 11
    for path in SHIPPED:
        profile = load_profile(path)
        assert profile.id == path.stem
        assert profile.vendor and profile.model


def test_every_device_kind_of_the_hall_has_a_profile(profiles: ProfileSet) -> None:
    kinds = {p.kind for p in profiles.values()}
    assert set(KINDS) - {"face_camera"} <= kinds


def test_serial_profiles_encode_every_command_with_sample_args(profiles: ProfileSet) -> None:
    for profile in profiles.values():
        if profile.serial is None:
            continue
        settings = {"address": 1, "counter": 1} if profile.serial.multidrop else {}
        ctx = DeviceContext("dev", settings, profile.encoding)
        framer = make_framer(profile.framer.name, **profile.framer.params)  # type: ignore[union-attr]
        for name, spec in profile.commands.items():
            if spec.encoder is None:
                continue
            args = check_args(spec.args, SAMPLE_ARGS[name], name, spec.extra_args)
            items = bind_encoder(spec.encoder, spec.params)(
                {**settings, **args, "cmd_id": "c"}, ctx, None
            )
            wire = b"".join(i if isinstance(i, bytes) else framer.encode(i) for i in items)
            assert wire, f"{profile.id} {name} encodes to nothing"


def test_multidrop_profiles_require_an_address(profiles: ProfileSet) -> None:
    dev = DeviceSection(
        id="caller-1", profile="counter-caller-485", settings={"port": "/dev/ttyUSB0"}
    )
    with pytest.raises(ConfigError) as e:
        device_settings(dev, profiles["counter-caller-485"], "hall.toml", "devices[0]")
    assert e.value.key == "devices[0].settings.address"
    assert "requires" in e.value.expected


def test_device_settings_are_checked_against_the_profile(profiles: ProfileSet) -> None:
    robot = profiles["guide-robot-mqtt"]
    with pytest.raises(ConfigError) as e:
        device_settings(
            DeviceSection(id="r", profile=robot.id, settings={"serial": "X", "srial": 1}), robot
        )
    assert e.value.key == "devices.settings.srial"
    assert "serial" in e.value.expected
    with pytest.raises(ConfigError) as e:
        device_settings(DeviceSection(id="r", profile=robot.id, settings={"serial": 42}), robot)
    assert e.value.key == "devices.settings.serial" and "str" in e.value.expected
    ok = device_settings(
        DeviceSection(id="r", profile=robot.id, settings={"serial": "GB2-1"}), robot
    )
    assert ok == {"serial": "GB2-1"}


def test_face_camera_profiles_use_the_declared_section(profiles: ProfileSet) -> None:
    snap = profiles["face-camera-snapshot"].face_camera
    assert snap is not None and snap.snapshot.source == "http"
    assert snap.snapshot.url_setting == "snapshot_url"


GOOD = """\
vendor: Acme
model: T1
kind: ticket_machine
transport:
  type: serial
  baudrate: 9600
framer:
  name: line
frames:
  - converter: text_fields
    params:
      event: queue.ticket.requested
      fields: [request_id, service]
commands:
  ticket.print:
    args:
      ticket_no: {type: str}
    encoder: text
    params: {template: "PRT,{ticket_no}"}
"""


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        parse_profile(text, "acme.yaml", "acme")
    assert e.value.file == "acme.yaml"
    return e.value


def test_the_good_example_loads() -> None:
    assert parse_profile(GOOD, "acme.yaml", "acme").commands["ticket.print"].encoder == "text"


@pytest.mark.parametrize(
    ("old", "new", "key", "expected"),
    [
        ("  baudrate: 9600", "  baudrate: fast", "line 6: transport.baudrate", "int"),
        ("  baudrate: 9600", "  baud: 9600", "line 6: transport.baud", "unknown"),
        ("kind: ticket_machine", "kind: toaster", "line 3: kind", "ticket_machine"),
        ("  name: line", "  name: lines", "line 8: framer.name", "dlt645"),
        ("  name: line", "  name: line\n  params: {speed: 1}", "line 9: framer.params", "speed"),
        ("converter: text_fields", "converter: txt", "line 10: frames[0].converter", "text_fields"),
        (
            "      fields: [request_id, service]",
            "      feilds: [a]",
            "line 13: frames[0].params.feilds",
            "unknown",
        ),
        ("PRT,{ticket_no}", "PRT,{ticket}", "line 19: commands.ticket.print.params", "ticket"),
        ("    encoder: text", "    encoder: txt", "line 18: commands.ticket.print.encoder", "text"),
        ("  type: serial", "  type: serail", "line 5: transport.type", "mqtt"),
        ("vendor: Acme", "vendor: Acme\nencoding: klingon", "line 2: encoding", "gb18030"),
    ],
)
def test_each_mistake_names_line_key_and_expectation(
    old: str, new: str, key: str, expected: str
) -> None:
    assert old in GOOD
    err = _error(GOOD.replace(old, new))
    assert err.key == key, str(err)
    assert expected in err.expected + str(err.got)


def test_sections_that_do_not_fit_the_transport_are_refused() -> None:
    err = _error(GOOD + "messages:\n  - {topic: a, event: b}\n")
    assert err.key.endswith(": messages") and "MQTT" in err.expected
    mqtt = "vendor: A\nmodel: B\nkind: guide_robot\ntransport: {type: mqtt}\nframer: {name: line}\n"
    assert _error(mqtt).key == "line 5: framer"


def test_mqtt_topics_may_only_use_declared_settings() -> None:
    text = (
        "vendor: A\nmodel: B\nkind: guide_robot\ntransport: {type: mqtt}\n"
        "messages:\n  - topic: 'bot/{sn}/status'\n    event: robot.status\n"
    )
    err = _error(text)
    assert err.key == "line 6: messages[0].topic" and "settings" in err.expected


def test_face_camera_section_is_validated() -> None:
    base = "vendor: A\nmodel: C\nkind: face_camera\ntransport: {type: mqtt, convention: generic}\n"
    assert _error(base).key == "face_camera"
    err = _error(base + "face_camera:\n  snapshot: {source: http, url_setting: url}\n")
    assert err.key == "line 6: face_camera.snapshot.url_setting" and "setting" in err.expected
    err = _error(base + "face_camera:\n  snapshot: {source: ftp}\n")
    assert "face_camera.snapshot.source" in err.key
    robot = "vendor: A\nmodel: C\nkind: guide_robot\ntransport: {type: mqtt}\n"
    assert (
        _error(robot + "face_camera:\n  snapshot: {source: mqtt, topic: x}\n").key
        == "line 5: face_camera"
    )


def test_bad_yaml_and_non_mapping_are_named() -> None:
    assert "YAML" in _error("vendor: [unclosed\n").expected
    assert "mapping" in _error("- a\n- b\n").expected


def test_a_missing_extra_folder_and_duplicate_models_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder"):
        load_profiles(tmp_path / "nowhere")
    (tmp_path / "generic-mqtt.yaml").write_text((BUILTIN_DIR / "generic-mqtt.yaml").read_text())
    with pytest.raises(ConfigError, match="not already used"):
        load_profiles(tmp_path)


def test_unknown_profile_names_the_device_key(profiles: ProfileSet) -> None:
    with pytest.raises(ConfigError) as e:
        profiles.get_profile("counter-caler-485", "hall.toml", "devices[2].profile")
    assert e.value.key == "devices[2].profile" and "counter-caller-485" in e.value.expected
