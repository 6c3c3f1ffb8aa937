"""Vendor MQTT devices of the hall, speaking their own JSON to a broker with paho-mqtt.

Guide robot (guidebot/SN/...), payment kiosk (paystation/SN/...), feedback terminal
(voc/SN/...), e-form desk (eform/SN/...): the formats the shipped profiles map. Each
connects with a retained online state and a last will saying offline, and the robot
answers commands on its ack topic with the command's `seq` (the hub's cmd_id).
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.clock import Clock, utcnow

Handler = Callable[[str, dict[str, Any]], None]
HALL_TZ = ZoneInfo("Asia/Shanghai")


class MqttDeviceSim:
    """A device's MQTT connection: retained online state, last will, command handlers."""

    # The hall's time, which the device puts in its payloads: the demo sets one clock for
    # its devices and its hub (edge/clock.py), so a simulated day is stamped in its hours.
    clock: Clock = staticmethod(utcnow)

    def now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    def __init__(
        self, broker_url: str, client_id: str, state_topic: str, online: bytes, offline: bytes
    ) -> None:
        parts = urlsplit(broker_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1883
        self.state_topic = state_topic
        self._online, self._offline = online, offline
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.will_set(state_topic, offline, qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._handlers: list[tuple[str, Handler]] = []
        self.connected = threading.Event()
        self._loop_thread: int | None = None

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        self._loop_thread = threading.get_ident()
        for topic, _ in self._handlers:
            client.subscribe(topic, qos=1)
        client.publish(self.state_topic, self._online, qos=1, retain=True)
        self.connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            doc = msgspec.json.decode(msg.payload)
        except msgspec.DecodeError:
            return
        if not isinstance(doc, dict):
            return
        for topic, handler in self._handlers:
            if mqtt.topic_matches_sub(topic, msg.topic):
                handler(msg.topic, doc)

    def on(self, topic: str, handler: Handler) -> None:
        """Call `handler(topic, json)` for messages on `topic` (subscribed at connect)."""
        self._handlers.append((topic, handler))

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect, subscribe, say online; ConnectionError when there is no broker."""
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise ConnectionError(f"no MQTT broker at {self.host}:{self.port} ({exc})") from None
        self.client.loop_start()
        if not self.connected.wait(timeout_s):
            self.client.loop_stop()
            raise ConnectionError(f"no MQTT connection to {self.host}:{self.port}")

    def stop(self, graceful: bool = True) -> None:
        """Disconnect; a graceful stop says offline itself (the will is for crashes)."""
        if graceful:
            self.client.publish(
                self.state_topic, self._offline, qos=1, retain=True
            ).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, doc: Any, retain: bool = False) -> None:
        """Publish JSON at QoS 1; waits for the PUBACK, except in paho's own loop thread
        (a command handler), where waiting would block the loop that receives it."""
        info = self.client.publish(topic, msgspec.json.encode(doc), qos=1, retain=retain)
        if threading.get_ident() != self._loop_thread:
            info.wait_for_publish(5)


class RobotSim(MqttDeviceSim):
    """A guide robot: reports status and tasks, obeys speak / nav / lead / charge."""

    POIS = ("entrance", "kiosks", "waiting_area", "dock", *(f"counter_{i}" for i in range(1, 13)))

    def __init__(self, broker_url: str, serial: str = "GB2-0001", task_s: float = 0.2) -> None:
        self.base = f"guidebot/{serial}"
        super().__init__(broker_url, f"sim-robot-{serial}", f"{self.base}/online", b"1", b"0")
        self.task_s = task_s
        self.battery = 90
        self.charging = False
        self.mode = 0
        self.poi = "dock"
        self.spoken: list[str] = []
        self.visited: list[str] = []
        self._ids = itertools.count(1)
        self._timers: set[threading.Timer] = set()
        self.on(f"{self.base}/cmd", self._command)

    def report_status(self) -> None:
        """Publish the robot's battery, mode and position."""
        self.publish(
            f"{self.base}/report/status",
            {
                "msgId": f"s{next(self._ids)}-{uuid.uuid4().hex[:8]}",
                "ts": self.now_ms(),
                "battery": {"level": self.battery, "charging": self.charging},
                "workMode": self.mode,
                "pose": {"poi": self.poi, "x": 0.0, "y": 0.0},
            },
        )

    def _task(self, task_id: str, kind: str, state: str, err: int = 0) -> None:
        self.publish(
            f"{self.base}/report/task",
            {
                "msgId": f"t{next(self._ids)}",
                "ts": self.now_ms(),
                "taskId": task_id,
                "type": kind,
                "state": state,
                "errCode": err,
            },
        )

    def _command(self, topic: str, doc: dict[str, Any]) -> None:
        seq, action, params = doc.get("seq"), doc.get("action"), doc.get("params") or {}
        result, msg = 0, "ok"
        if action == "speak" and not params.get("text"):
            result, msg = 2, "text missing"
        elif action in ("nav", "lead") and params.get("poi") not in self.POIS:
            result, msg = 2, f"unknown poi {params.get('poi')}"
        elif action in ("nav", "lead") and self.battery < 15:
            result, msg = 3, "battery low"
        elif action not in ("speak", "nav", "lead", "charge"):
            result, msg = 2, f"unknown action {action}"
        self.publish(f"{self.base}/cmd/ack", {"seq": seq, "result": result, "msg": msg})
        if result != 0:
            return
        task_id = f"task-{next(self._ids)}"
        self._task(task_id, str(action), "accepted")
        timer = threading.Timer(self.task_s, self._finish, (task_id, str(action), params))
        self._timers.add(timer)
        timer.start()

    def stop(self, graceful: bool = True) -> None:
        # A task finishing after the stop would publish on a closed client.
        for timer in list(self._timers):
            timer.cancel()
        super().stop(graceful)

    def _finish(self, task_id: str, action: str, params: dict[str, Any]) -> None:
        self._timers = {t for t in self._timers if t.is_alive()}
        if action == "speak":
            self.spoken.append(str(params.get("text")))
        elif action in ("nav", "lead"):
            self.poi = str(params.get("poi"))
            self.visited.append(self.poi)
            self.battery = max(0, self.battery - 2)
        elif action == "charge":
            self.poi, self.charging, self.mode = "dock", True, 3
        self._task(task_id, action, "done")
        self.report_status()


class KioskSim(MqttDeviceSim):
    """A payment kiosk: trades and consumable states."""

    CHANNELS: ClassVar[dict[str, str]] = {
        "wechat": "WX",
        "alipay": "ZFB",
        "unionpay": "YL",
        "card": "CARD",
        "cash": "CASH",
    }

    def __init__(self, broker_url: str, serial: str = "PS60-0001") -> None:
        self.base = f"paystation/{serial}"
        super().__init__(
            broker_url,
            f"sim-kiosk-{serial}",
            f"{self.base}/lwt",
            b'{"state":"online"}',
            b'{"state":"offline"}',
        )
        self._trades = itertools.count(1)

    def pay(self, amount_cents: int, channel: str, account: str, ok: bool = True) -> str:
        """A customer pays a bill; returns the trade number."""
        trade_no = f"T{self.clock().astimezone(HALL_TZ):%Y%m%d}{next(self._trades):06d}"
        self.publish(
            f"{self.base}/trade",
            {
                "tradeNo": trade_no,
                "consNo": account,
                "amount": f"{amount_cents / 100:.2f}",
                "payType": self.CHANNELS[channel],
                "status": "SUCCESS" if ok else "FAIL",
                "time": f"{self.clock().astimezone(HALL_TZ):%Y-%m-%d %H:%M:%S}",
                "operator": "self-service",
            },
        )
        return trade_no

    def state(self, paper: str = "OK", cash_box: str = "OK", fault: str = "") -> None:
        """Publish the kiosk's consumables (paper OK/LOW/OUT, cash box OK/FULL)."""
        self.publish(
            f"{self.base}/state",
            {"paper": paper, "cashBox": cash_box, "fault": fault, "ts": self.now_ms()},
        )


class FeedbackSim(MqttDeviceSim):
    KINDS: ClassVar[dict[str, int]] = {"complaint": 1, "suggestion": 2, "praise": 3}

    def __init__(self, broker_url: str, serial: str = "VOC-0001") -> None:
        self.base = f"voc/{serial}"
        super().__init__(
            broker_url, f"sim-voc-{serial}", f"{self.base}/state", b"online", b"offline"
        )

    def submit(self, category: str, text: str, phone: str = "", counter: int | None = None) -> str:
        """A customer leaves feedback; returns its id."""
        fid = uuid.uuid4().hex[:12]
        doc: dict[str, Any] = {
            "id": fid,
            "kind": self.KINDS[category],
            "content": text,
            "phone": phone,
            "createdAt": self.clock().astimezone(HALL_TZ).isoformat(timespec="seconds"),
        }
        if counter is not None:
            doc["counter"] = counter
        self.publish(f"{self.base}/submit", doc)
        return fid


class FormDeskSim(MqttDeviceSim):
    def __init__(self, broker_url: str, serial: str = "EF-0001") -> None:
        self.base = f"eform/{serial}"
        super().__init__(
            broker_url, f"sim-eform-{serial}", f"{self.base}/state", b"online", b"offline"
        )

    def submit(self, form_type: str, desk: str, name: str, id_card: str, mobile: str) -> str:
        """A customer submits a form (with the personal data a real desk sends); returns its id."""
        form_id = f"F{uuid.uuid4().hex[:10].upper()}"
        self.publish(
            f"{self.base}/form",
            {
                "formId": form_id,
                "formType": form_type,
                "deskNo": desk,
                "applicant": {"name": name, "idCard": id_card, "mobile": mobile},
                "submitTime": int(self.clock().timestamp()),
            },
        )
        return form_id
