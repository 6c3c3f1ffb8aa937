"""Vendor MQTT devices mapped by their profiles; personal data masked at the edge."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from edge.config.hub import DeviceSection
from edge.drivers.masking import is_masked, mask
from edge.drivers.mqtt_codec import MISSING, MqttCodec, get_path
from edge.drivers.profiles import ProfileSet
from edge.drivers.registry import build_codec
from edge.errors import CommandError, PayloadError
from edge.model import Command


def codec(profiles: ProfileSet, profile: str, serial: str) -> MqttCodec:
    c = build_codec(
        DeviceSection(id="dev-1", profile=profile, settings={"serial": serial}), profiles[profile]
    )
    assert c is not None
    return c


def js(doc: object) -> bytes:
    return msgspec.json.encode(doc)


def test_mask_keeps_the_last_four() -> None:
    assert mask("3301234567890") == "*********7890"
    assert mask("13812345678") == "*******5678"
    assert mask("abc") == "***" and mask(None) == ""
    assert is_masked(mask("a.person@example.com")) and not is_masked("13812345678")


def test_robot_status_and_task_are_mapped(profiles: ProfileSet) -> None:
    c = codec(profiles, "guide-robot-mqtt", "GB2-9")
    assert c.subscriptions() == [
        "guidebot/GB2-9/report/status",
        "guidebot/GB2-9/report/task",
        "guidebot/GB2-9/cmd/ack",
        "guidebot/GB2-9/online",
    ]
    status = {
        "msgId": "m1",
        "ts": 1764207065123,
        "battery": {"level": 76, "charging": False},
        "workMode": 1,
        "pose": {"poi": "counter_3"},
    }
    (e,) = c.decode("guidebot/GB2-9/report/status", js(status))
    assert e.type == "robot.status" and e.device_id == "dev-1" and e.source_id == "dev-1:m1"
    assert e.data == {"battery": 76, "charging": False, "mode": "guiding", "position": "counter_3"}
    assert e.time == datetime(2025, 11, 27, 1, 31, 5, 123000, tzinfo=UTC)
    task = {"msgId": "m2", "ts": 1, "taskId": "t7", "type": "lead", "state": "done"}
    (t,) = c.decode("guidebot/GB2-9/report/task", js(task))
    assert t.type == "robot.task" and t.data == {
        "task": "lead",
        "task_id": "t7",
        "state": "done",
        "error": 0,
    }


def test_robot_commands_keep_argument_types_and_replies_map_codes(profiles: ProfileSet) -> None:
    c = codec(profiles, "guide-robot-mqtt", "GB2-9")
    ((topic, payload),) = c.encode_command(
        Command("dev-1", "robot.speak", {"text": "您好，欢迎光临"}, cmd_id="c1")
    )
    assert topic == "guidebot/GB2-9/cmd"
    assert msgspec.json.decode(payload) == {
        "seq": "c1",
        "action": "speak",
        "params": {"text": "您好，欢迎光临", "volume": 70},
    }
    ((_, lead),) = c.encode_command(
        Command("dev-1", "robot.lead", {"target": "counter_3", "ticket_no": "A012"}, cmd_id="c2")
    )
    assert msgspec.json.decode(lead)["params"] == {
        "poi": "counter_3",
        "ticket": "A012",
        "say": "请跟我来",
    }
    reply = c.decode_reply(
        "guidebot/GB2-9/cmd/ack", js({"seq": "c2", "result": 3, "msg": "battery low"})
    )
    assert reply is not None and (reply.cmd_id, reply.code, reply.msg) == ("c2", 500, "battery low")
    assert c.decode_reply("guidebot/GB2-9/report/task", b"{}") is None
    with pytest.raises(CommandError) as e:
        c.encode_command(Command("dev-1", "robot.dance", {}, cmd_id="c3"))
    assert e.value.code == 404
    with pytest.raises(CommandError) as e:
        c.encode_command(Command("dev-1", "robot.speak", {"volume": 5}, cmd_id="c4"))
    assert e.value.code == 400 and "text" in e.value.msg


def test_robot_availability(profiles: ProfileSet) -> None:
    c = codec(profiles, "guide-robot-mqtt", "GB2-9")
    assert c.decode_state("guidebot/GB2-9/online", b"1") is True
    assert c.decode_state("guidebot/GB2-9/online", b"0") is False
    assert c.decode_state("guidebot/GB2-9/report/status", b"1") is None


def test_kiosk_payment_amount_channel_and_masked_account(profiles: ProfileSet) -> None:
    c = codec(profiles, "payment-kiosk-mqtt", "PS-1")
    trade = {
        "tradeNo": "T1",
        "consNo": "3301234567890",
        "amount": "128.50",
        "payType": "ZFB",
        "status": "SUCCESS",
        "time": "2026-11-27 09:31:05",
        "operator": "x",
    }
    (e,) = c.decode("paystation/PS-1/trade", js(trade))
    assert e.type == "kiosk.payment" and e.source_id == "dev-1:T1"
    assert e.data == {
        "trade_no": "T1",
        "amount_cents": 12850,
        "channel": "alipay",
        "result": "success",
        "account": "*********7890",
    }
    assert e.time is not None and e.time.isoformat() == "2026-11-27T09:31:05+08:00"
    assert "3301234567890" not in msgspec.json.encode(e.data).decode()
    (s,) = c.decode("paystation/PS-1/state", js({"paper": "LOW", "cashBox": "OK", "ts": 0}))
    assert s.data == {"paper": "near_end", "cash_box": "ok", "fault": ""}
    assert c.decode_state("paystation/PS-1/lwt", b'{"state": "offline"}') is False


def test_feedback_contact_masked_and_eform_personal_fields_dropped(profiles: ProfileSet) -> None:
    fb = codec(profiles, "feedback-machine-mqtt", "V1")
    (e,) = fb.decode(
        "voc/V1/submit",
        js(
            {
                "id": "f1",
                "kind": 1,
                "content": "排队太久",
                "phone": "13812345678",
                "createdAt": "2026-11-27T10:00:00+08:00",
            }
        ),
    )
    assert e.data == {
        "category": "complaint",
        "text": "排队太久",
        "contact": "*******5678",
        "counter": None,
        "feedback_id": "f1",
    }
    fb_state = [fb.decode_state("voc/V1/state", p) for p in (b"online", b"offline")]
    assert fb_state == [True, False]
    ef = codec(profiles, "eform-desk-mqtt", "E1")
    form = {
        "formId": "F1",
        "formType": "CAPACITY",
        "deskNo": "D2",
        "applicant": {"name": "张三", "idCard": "330102199001011234", "mobile": "13912345678"},
        "submitTime": 1764207000,
    }
    (f,) = ef.decode("eform/E1/form", js(form))
    assert f.data == {
        "form_id": "F1",
        "form": "capacity_change",
        "desk": "D2",
        "contact": "*******5678",
    }
    text = msgspec.json.encode(f.data).decode()
    assert "张三" not in text and "330102" not in text


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("voc/V1/other", b"{}", "unknown_topic"),
        ("voc/V1/submit", b"not json", "not_json"),
        ("voc/V1/submit", b'{"id": "1", "content": "x"}', "missing_field"),
        ("voc/V1/submit", b'{"id": "1", "kind": 7}', "unknown_value"),
        ("voc/V1/submit", b'{"id": "1", "kind": 1, "counter": "three"}', "bad_value"),
        ("voc/V1/submit", b'{"id": "1", "kind": 1, "createdAt": "yesterday"}', "bad_time"),
    ],
)
def test_undecodable_messages_are_payload_errors(
    profiles: ProfileSet, topic: str, payload: bytes, reason: str
) -> None:
    with pytest.raises(PayloadError) as e:
        codec(profiles, "feedback-machine-mqtt", "V1").decode(topic, payload)
    assert e.value.reason == reason


def test_generic_and_serial_profiles_have_no_codec(profiles: ProfileSet) -> None:
    assert (
        build_codec(DeviceSection(id="g", profile="generic-mqtt"), profiles["generic-mqtt"]) is None
    )
    assert (
        build_codec(
            DeviceSection(id="p", profile="invoice-printer-escpos"),
            profiles["invoice-printer-escpos"],
        )
        is None
    )


def test_get_path_walks_objects_and_lists() -> None:
    doc = {"a": {"items": [{"b": 1}, {"b": 2}]}}
    assert get_path(doc, "a.items[1].b") == 2
    assert get_path(doc, "a.items.0.b") == 1
    assert get_path(doc, "a.items[5].b") is MISSING
    assert get_path(doc, "a.items.x") is MISSING
