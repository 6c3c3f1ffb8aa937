"""Issue #12's triggers, one by one, at the decoders: each is a PayloadError with a reason
(a dead letter), never another exception (which once froze the hall link)."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest

from edge.config.hub import DeviceSection
from edge.drivers import convention
from edge.drivers.mqtt_codec import MqttCodec
from edge.drivers.profiles import ProfileSet
from edge.drivers.registry import build_codec
from edge.errors import PayloadError

TZ = ZoneInfo("Asia/Shanghai")
LIMIT = 262144


def _codec(profiles: ProfileSet, profile: str, serial: str) -> MqttCodec:
    c = build_codec(
        DeviceSection(id="dev-1", profile=profile, settings={"serial": serial}), profiles[profile]
    )
    assert c is not None
    return c


def _reason(fn: object, *args: object) -> str:
    with pytest.raises(PayloadError) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.reason


@pytest.mark.parametrize("amount", ["Infinity", "1e400", 1e308, "NaN", "-Infinity"])
def test_a_kiosk_amount_past_any_number_is_bad_value(profiles: ProfileSet, amount: object) -> None:
    kiosk = _codec(profiles, "payment-kiosk-mqtt", "PS1")
    doc = {"tradeNo": "T1", "consNo": "1", "amount": amount, "payType": "WX", "status": "SUCCESS"}
    assert _reason(kiosk.decode, "paystation/PS1/trade", json.dumps(doc).encode()) == "bad_value"


def test_a_robot_battery_of_infinity_is_bad_value(profiles: ProfileSet) -> None:
    robot = _codec(profiles, "guide-robot-mqtt", "GB1")
    doc = {"msgId": "m", "ts": 1764724000000, "battery": {"level": "Infinity"}, "workMode": 0}
    topic = "guidebot/GB1/report/status"
    assert _reason(robot.decode, topic, json.dumps(doc).encode()) == "bad_value"


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_past_32_levels_is_refused_everywhere(profiles: ProfileSet, depth: int) -> None:
    deep = b"[" * depth + b"]" * depth
    event = b'{"v":' + deep + b"}"
    assert _reason(convention.decode_event, "d", "x", event, LIMIT, TZ) == "invalid_json"
    assert _reason(convention.decode_state, b'{"state":' + deep[:4000] + b"}") in (
        "invalid_json",
        "too_large",
    )
    kiosk = _codec(profiles, "payment-kiosk-mqtt", "PS1")
    assert _reason(kiosk.decode, "paystation/PS1/trade", deep) == "not_json"


def test_32_levels_are_still_an_event() -> None:
    ok = b'{"v":' + b"[" * 31 + b"]" * 31 + b"}"
    assert convention.decode_event("d", "x", ok, LIMIT, TZ).data["v"] is not None


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59.999Z",
        "9999-12-31T23:59:59.999-12:00",
        "1969-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
    ],
)
def test_times_at_and_past_the_ends_of_the_calendar_are_bad_field(when: str) -> None:
    payload = json.dumps({"time": when}).encode()
    assert _reason(convention.decode_event, "d", "x", payload, LIMIT, TZ) == "bad_field"


def test_the_ends_of_the_accepted_range_are_events() -> None:
    for when in ("1970-01-01T00:00:00Z", "2199-12-31T23:59:59Z"):
        ev = convention.decode_event("d", "x", json.dumps({"time": when}).encode(), LIMIT, TZ)
        assert ev.time is not None


@pytest.mark.parametrize("ts", [-1e20, 1e20, "Infinity", 1e308])
def test_a_vendor_epoch_no_clock_can_hold_is_bad_time(profiles: ProfileSet, ts: object) -> None:
    kiosk = _codec(profiles, "payment-kiosk-mqtt", "PS1")
    doc = {"paper": "OK", "cashBox": "OK", "ts": ts}
    assert _reason(kiosk.decode, "paystation/PS1/state", json.dumps(doc).encode()) == "bad_time"


@pytest.mark.parametrize(
    "path", ["", "/x", "x/", "x//y", "a b", "评价", "t" * 129, "a/" * 70 + "z"]
)
def test_type_paths_the_cloud_could_not_carry_are_bad_topic(path: str) -> None:
    assert _reason(convention.decode_event, "d", path, b"{}", LIMIT, TZ) == "bad_topic"


def test_the_empty_segment_of_issue_12_is_bad_topic() -> None:
    device, kind, path = convention.split_topic("hall/devices/pad-1/events//x")
    assert (device, kind) == ("pad-1", "events")
    assert _reason(convention.decode_event, device, path, b"{}", LIMIT, TZ) == "bad_topic"


def test_ids_longer_than_128_characters_are_bad_field() -> None:
    payload = json.dumps({"id": "i" * 129}).encode()
    assert _reason(convention.decode_event, "d", "x", payload, LIMIT, TZ) == "bad_field"
