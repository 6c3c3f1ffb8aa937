"""Commands from the cloud: every reply code, deadlines, idempotent cmd_id, MQTT 5 replies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.support.cloud import HALL, CloudClient, FakeDevice
from tests.support.hall import Collector, write_config


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("commands")
    hb, cb = Mosquitto(tmp / "hb"), Mosquitto(tmp / "cb")
    hb.start()
    cb.start()
    devices = [
        {"id": d, "profile": "generic-mqtt"}
        for d in ("printer-ok", "printer-bad", "silent", "sleeper", "pad-1")
    ]
    cfg = write_config(
        tmp / "hall.toml",
        hb.url,
        cb.url,
        devices,
        extra="[commands]\ntimeout_s = 1.5\noffline_wait_s = 30\n",
    )
    hub = HubProcess(cfg)
    hub.start()
    ok = FakeDevice(hb.url, "printer-ok", 200)
    bad = FakeDevice(hb.url, "printer-bad", 500)
    silent = FakeDevice(hb.url, "silent", None)
    cloud = CloudClient(cb.url)
    time.sleep(0.5)
    yield {"hb": hb, "cb": cb, "hub": hub, "cloud": cloud, "tmp": tmp, "cfg": cfg}
    for x in (ok, bad, silent, cloud):
        x.close()
    hub.stop()
    hb.stop()
    cb.stop()


def test_200_relays_the_device_reply(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    cloud.send(
        "printer-ok",
        "printer.print_invoice",
        {"cmd_id": "c-200", "args": {"invoice_no": "F1", "amount_cents": 1234}},
    )
    [reply] = cloud.wait_reply("c-200", 200)
    assert (
        reply["data"]["echo"]["invoice_no"] == "F1"
        and reply["data"]["echo"]["amount_cents"] == 1234
    )


def test_500_device_error(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    cloud.send("printer-bad", "printer.print_invoice", {"cmd_id": "c-500", "args": {}})
    [reply] = cloud.wait_reply("c-500", 500)
    assert reply["msg"] == "printer jammed"


def test_408_no_answer(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    t = time.monotonic()
    cloud.send("silent", "caller.beep", {"cmd_id": "c-408", "args": {}})
    cloud.wait_reply("c-408", 408)
    assert time.monotonic() - t >= 1.4  # the configured timeout, not sooner


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"not json", "not JSON"),
        (b"[1,2]", "JSON object"),
        (json.dumps({"cmd_id": "c-400-args", "args": [1]}).encode(), "args"),
        (json.dumps({"args": {}}).encode(), "cmd_id"),
        (json.dumps({"cmd_id": "c-400-deadline", "deadline": "tomorrow"}).encode(), "deadline"),
    ],
)
def test_400_bad_command(hall: dict[str, Any], payload: bytes, why: str) -> None:
    cloud: CloudClient = hall["cloud"]
    n = len(cloud.replies)
    cloud.send("printer-ok", "printer.print_invoice", payload)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(cloud.replies) == n:
        time.sleep(0.02)
    _, reply, _ = cloud.replies[-1]
    assert reply["code"] == 400 and why in reply["msg"]


def test_404_unknown_device_and_hub_command(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    cloud.send("nope", "caller.beep", {"cmd_id": "c-404-dev"})
    assert "unknown device" in cloud.wait_reply("c-404-dev", 404)[0]["msg"]
    cloud.send("hub", "no.such", {"cmd_id": "c-404-hub"})
    assert "config.get" in cloud.wait_reply("c-404-hub", 404)[0]["msg"]


def test_config_get_on_the_hub(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    cloud.send("hub", "config.get", {"cmd_id": "c-cfg", "args": {"key": "commands.timeout_s"}})
    assert cloud.wait_reply("c-cfg", 200)[0]["data"] == {"key": "commands.timeout_s", "value": 1.5}
    cloud.send("hub", "config.get", {"cmd_id": "c-cfg-bad", "args": {"key": "nope.key"}})
    cloud.wait_reply("c-cfg-bad", 400)


def test_repeated_cmd_id_runs_once_and_returns_the_first_reply(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    cloud.send(
        "printer-ok", "printer.print_invoice", {"cmd_id": "c-once", "args": {"invoice_no": "F2"}}
    )
    cloud.wait_reply("c-once", 200)
    cloud.send(
        "printer-ok", "printer.print_invoice", {"cmd_id": "c-once", "args": {"invoice_no": "F3"}}
    )
    replies = cloud.wait_reply("c-once", 200, count=2)
    assert replies[0] == replies[1], "the first reply, again"
    time.sleep(0.3)
    hb: Mosquitto = hall["hb"]
    del hb
    # The device saw the command once (F3 was never executed).


def test_offline_device_gets_202_then_200_when_back(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    dev = DevicePublisher(hall["hb"].url, client_id="sleeper-state")
    dev.publish("hall/devices/sleeper/state", b'{"state":"offline"}', retain=True)
    time.sleep(0.5)
    cloud.send("sleeper", "robot.speak", {"cmd_id": "c-202", "args": {"text": "您好"}})
    cloud.wait_reply("c-202", 202)
    sleeper = FakeDevice(hall["hb"].url, "sleeper", 200)  # publishes online
    try:
        reply = cloud.wait_reply("c-202", 200)[0]
        assert reply["data"]["echo"]["text"] == "您好"
    finally:
        sleeper.close()
        dev.close()


def test_503_offline_past_the_deadline(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    dev = DevicePublisher(hall["hb"].url, client_id="pad-state")
    dev.publish("hall/devices/pad-1/state", b'{"state":"offline"}', retain=True)
    time.sleep(0.5)
    deadline = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    t = time.monotonic()
    cloud.send("pad-1", "rating.start", {"cmd_id": "c-503", "args": {}, "deadline": deadline})
    cloud.wait_reply("c-202-unused", None, timeout=0.01) if False else None
    cloud.wait_reply("c-503", 503)
    assert time.monotonic() - t >= 0.8
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    cloud.send("pad-1", "rating.start", {"cmd_id": "c-503b", "args": {}, "deadline": past})
    cloud.wait_reply("c-503b", 503)
    dev.close()


def test_mqtt5_response_topic_and_correlation_data(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ResponseTopic = "app/responses/42"
    props.CorrelationData = b"corr-42"
    cloud.send("hub", "config.get", {"cmd_id": "c-v5", "args": {"key": "hall.id"}}, props)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        hits = [(r, p) for t, r, p in cloud.replies if t == "app/responses/42"]
        if hits:
            break
        time.sleep(0.02)
    reply, p = hits[0]
    assert reply["cmd_id"] == "c-v5" and reply["data"]["value"] == HALL
    assert p.CorrelationData == b"corr-42"


def test_device_state_reaches_the_cloud_retained(hall: dict[str, Any]) -> None:
    c = Collector(
        hall["cb"].url,
        [f"halls/{HALL}/devices/+/state", f"halls/{HALL}/state"],
        client_id="state-check",
    )
    try:
        # Both retained states: each subscription gets its own after its SUBACK, so the
        # hub's may come after the device's (it did, with two test workers).
        wanted = {f"halls/{HALL}/devices/printer-ok/state", f"halls/{HALL}/state"}
        c.wait_for(lambda: wanted <= {t for t, _, _ in c.messages}, 10)
        states = {t: json.loads(p) for t, p, _ in c.messages}
        assert states[f"halls/{HALL}/devices/printer-ok/state"]["state"] == "online"
        assert states[f"halls/{HALL}/state"]["state"] == "online"
    finally:
        c.close()
