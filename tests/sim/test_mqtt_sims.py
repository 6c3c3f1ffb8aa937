"""Vendor MQTT simulators through a private Mosquitto, read back with the profiles' codecs."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.config.hub import DeviceSection
from edge.drivers.mqtt_codec import MqttCodec
from edge.drivers.profiles import load_profiles
from edge.drivers.registry import build_codec
from edge.model import Command
from edge.sim.mosquitto import Mosquitto
from edge.sim.mqtt_devices import FeedbackSim, FormDeskSim, KioskSim, RobotSim


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path_factory.mktemp("mosquitto"), persistence=False)
    b.start()
    yield b
    b.stop()


def codec_for(profile: str, serial: str) -> MqttCodec:
    profiles = load_profiles()
    c = build_codec(
        DeviceSection(id=f"{profile}-1", profile=profile, settings={"serial": serial}),
        profiles[profile],
    )
    assert c is not None
    return c


class Hub:
    """Stands in for the hub's side of the hall broker: subscribes to a codec's topics."""

    def __init__(self, broker: Mosquitto, codec: MqttCodec) -> None:
        self.codec = codec
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hub-{codec.device_id}")
        ready = threading.Event()

        def on_connect(client: mqtt.Client, *_: object) -> None:
            client.subscribe([(topic, 1) for topic in codec.subscriptions()])

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *_: ready.set()  # subscribed before the test goes on
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert ready.wait(5)

    def next(self, topic_part: str, wait_s: float = 5.0) -> tuple[str, bytes]:
        """The next message whose topic contains `topic_part`, as (topic, payload)."""
        while True:
            m = self.messages.get(timeout=wait_s)
            if topic_part in m.topic:
                return m.topic, bytes(m.payload)

    def send(self, cmd: Command) -> None:
        for topic, payload in self.codec.encode_command(cmd):
            self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_robot_reports_obeys_and_answers_with_the_cmd_id(broker: Mosquitto) -> None:
    codec = codec_for("guide-robot-mqtt", "GB2-7")
    hub = Hub(broker, codec)
    robot = RobotSim(broker.url, "GB2-7", task_s=0.05)
    robot.start()
    try:
        assert codec.decode_state(*hub.next("/online")) is True
        robot.report_status()
        (status,) = codec.decode(*hub.next("/report/status"))
        assert (
            status.type == "robot.status"
            and status.data["battery"] == 90
            and status.data["mode"] == "idle"
        )
        hub.send(
            Command(
                "guide-robot-mqtt-1",
                "robot.lead",
                {"target": "counter_3", "ticket_no": "A012"},
                cmd_id="c-1",
            )
        )
        reply = codec.decode_reply(*hub.next("/cmd/ack"))
        assert reply is not None and (reply.cmd_id, reply.code) == ("c-1", 200)
        states: list[tuple[object, object]] = []
        while len(states) < 2:
            (task,) = codec.decode(*hub.next("/report/task"))
            states.append((task.data["task"], task.data["state"]))
        assert states == [("lead", "accepted"), ("lead", "done")]
        assert robot.visited == ["counter_3"]
        hub.send(
            Command("guide-robot-mqtt-1", "robot.navigate_to", {"target": "the_moon"}, cmd_id="c-2")
        )
        bad = codec.decode_reply(*hub.next("/cmd/ack"))
        assert bad is not None and (bad.cmd_id, bad.code) == ("c-2", 400) and "the_moon" in bad.msg
    finally:
        robot.stop()
        assert codec.decode_state(*hub.next("/online")) is False
        hub.close()


def test_kiosk_feedback_and_eform_arrive_masked(broker: Mosquitto) -> None:
    kiosk_codec = codec_for("payment-kiosk-mqtt", "PS-3")
    fb_codec = codec_for("feedback-machine-mqtt", "V-3")
    form_codec = codec_for("eform-desk-mqtt", "E-3")
    hubs = [Hub(broker, c) for c in (kiosk_codec, fb_codec, form_codec)]
    sims = [
        KioskSim(broker.url, "PS-3"),
        FeedbackSim(broker.url, "V-3"),
        FormDeskSim(broker.url, "E-3"),
    ]
    for s in sims:
        s.start()
    try:
        kiosk, feedback, eform = sims
        assert (
            isinstance(kiosk, KioskSim)
            and isinstance(feedback, FeedbackSim)
            and isinstance(eform, FormDeskSim)
        )
        trade_no = kiosk.pay(12850, "unionpay", "3301987654321")
        (pay,) = kiosk_codec.decode(*hubs[0].next("/trade"))
        assert pay.data["amount_cents"] == 12850 and pay.data["channel"] == "unionpay"
        assert (
            pay.data["account"] == "*********4321"
            and pay.source_id == f"payment-kiosk-mqtt-1:{trade_no}"
        )
        fid = feedback.submit("suggestion", "希望增加座位", "13712345678", counter=2)
        (fb,) = fb_codec.decode(*hubs[1].next("/submit"))
        assert fb.data == {
            "category": "suggestion",
            "text": "希望增加座位",
            "contact": "*******5678",
            "counter": 2,
            "feedback_id": fid,
        }
        eform.submit("NEW_INSTALL", "D1", "王五", "330102198001011234", "13600001111")
        (form,) = form_codec.decode(*hubs[2].next("/form"))
        assert form.data["form"] == "new_install" and form.data["contact"] == "*******1111"
        assert "王五" not in str(form.data) and "330102" not in str(form.data)
    finally:
        for s in sims:
            s.stop()
        for h in hubs:
            h.close()


def test_tests_never_touch_the_machine_broker(broker: Mosquitto) -> None:
    assert broker.port != 1883 and Path(broker.conf).read_text().startswith(
        f"listener {broker.port} 127.0.0.1"
    )
