"""End to end with simulated devices: ticket machine -> queue -> serial caller ->
display and voice -> rating pad -> the events the cloud receives.

The hub's own parts (drivers, uplink) are other packages; here a small router stands in
for them: device events become journaled input events, commands are delivered to the
simulated device they name, and every journaled event is wrapped in the CloudEvents
envelope of docs/contract.md §3 and handed to a cloud inbox.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from edge.model import Command, type_to_path
from edge.queue import catalogue as c
from edge.queue import command_to_event
from tests.queue.hall import Hall, at

DAY = "2026-11-27"


@dataclass
class TicketMachine:
    device_id: str
    printed: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    n: int = 0

    def take(self, hub: Hub, service: str, when: datetime, priority: str = "normal") -> None:
        self.n += 1
        hub.device_event(
            self.device_id,
            c.TICKET_REQUESTED,
            {
                "request_id": f"{self.device_id}-{self.n}",
                "service": service,
                "priority": priority,
                "channel": "kiosk",
            },
            when,
        )

    def command(self, cmd: Command) -> None:
        if cmd.name == c.TICKET_PRINT:
            self.printed.append(dict(cmd.args))
        elif cmd.name == c.TICKET_REFUSE:
            self.refused.append(str(cmd.args["reason"]))


@dataclass
class SerialCaller:
    """A counter caller on the RS-485 bus: key frames out, digits and beeps in."""

    device_id: str
    counter: int
    address: int
    digits: str = ""
    beeps: int = 0
    seq: int = 0

    KEYS: ClassVar[dict[str, int]] = {
        c.CALL_NEXT: 0x0C,
        c.RECALL: 0x0D,
        c.FINISH: 0x0B,
        c.PAUSE: 0x12,
    }

    def frame(self, action: str) -> bytes:
        self.seq = (self.seq + 1) & 0xFF
        body = bytes([self.address, 0x01, self.seq, self.KEYS[action]])
        length = len(body)
        return bytes([0xFF, 0x68, length, length, 0x68, *body, sum(body) & 0xFF, 0x16])

    def press(self, hub: Hub, action: str, when: datetime, retransmit: bool = False) -> None:
        raw = self.frame(action)
        # What a driver would make of the frame: the press id is a hash of its bytes.
        data = {
            "counter": self.counter,
            "action": action,
            "press_id": hashlib.sha1(raw).hexdigest()[:12],
        }
        hub.device_event(self.device_id, c.COUNTER_ACTION, data, when)
        if retransmit:  # the ack got lost, the caller sends the very same frame again
            hub.device_event(self.device_id, c.COUNTER_ACTION, data, when + timedelta(seconds=0.3))

    def command(self, cmd: Command) -> None:
        if cmd.name == c.SHOW_DIGITS:
            self.digits = str(cmd.args["text"])
        elif cmd.name == c.BEEP:
            self.beeps += 1


@dataclass
class Screen:
    device_id: str
    shown: list[str] = field(default_factory=list)

    def command(self, cmd: Command) -> None:
        assert cmd.name in (c.SHOW_CALL, c.ANNOUNCE)
        self.shown.append(str(cmd.args["text"]))


@dataclass
class RatingPad:
    device_id: str
    showing: dict[str, Any] | None = None

    def command(self, cmd: Command) -> None:
        assert cmd.name == c.RATING_START
        self.showing = dict(cmd.args)

    def key(self, hub: Hub, level: int, when: datetime) -> None:
        # A serial pad: a bare key index, no rating id.
        hub.device_event(self.device_id, c.RATING_SUBMITTED, {"level": level}, when)
        self.showing = None


class Hub:
    """Router between the simulated devices, the queue (in a Hall) and a cloud inbox."""

    def __init__(self, hall: Hall, devices: list[Any]) -> None:
        self.hall = hall
        self.devices = {d.device_id: d for d in devices}
        self.cloud: list[dict[str, Any]] = []
        self._sent = 0
        self._seen = 0

    def device_event(
        self, device_id: str, type_: str, data: dict[str, Any], when: datetime
    ) -> None:
        self.hall.send(type_, device_id, data, when)
        self._route()

    def cloud_command(self, cmd: Command, when: datetime) -> dict[str, Any]:
        ev = command_to_event(cmd, self.hall.section)
        self.hall.send(ev.type, ev.device_id, ev.data, when)
        self._route()
        return {
            "cmd_id": cmd.cmd_id,
            "code": 202,
            "data": {"request_id": ev.data.get("request_id")},
        }

    def tick(self, when: datetime) -> None:
        self.hall.tick(when)
        self._route()

    def _route(self) -> None:
        for _, cmd in self.hall.commands[self._sent :]:
            self.devices[cmd.device_id].command(cmd)
        self._sent = len(self.hall.commands)
        for ev in self.hall.journal.events()[self._seen :]:
            envelope = {
                "specversion": "1.0",
                "id": ev.id,
                "type": ev.type,
                "source": f"/halls/h1/devices/{ev.device_id}",
                "time": ev.time.isoformat(),
                "datacontenttype": "application/json",
                "hallid": "h1",
                "deviceid": ev.device_id,
                "hallseq": ev.seq,
                "data": dict(ev.data),
            }
            # The topic it would go to, and the JSON it would carry.
            self.cloud.append(
                {
                    "topic": f"halls/h1/events/{type_to_path(ev.type)}",
                    "payload": json.loads(json.dumps(envelope, ensure_ascii=False)),
                }
            )
            self._seen += 1

    def cloud_events(self, type_: str) -> list[dict[str, Any]]:
        return [m["payload"]["data"] for m in self.cloud if m["payload"]["type"] == type_]


def test_a_customer_from_ticket_to_rating(hall: Hall) -> None:
    kiosk = TicketMachine("kiosk-1")
    caller = SerialCaller("caller-2", counter=2, address=0x02)
    window, screen, voice = Screen("window-2"), Screen("hall-screen"), Screen("hall-voice")
    pad = RatingPad("pad-2")
    others = [SerialCaller(f"caller-{n}", n, n) for n in (1, 3, 4, 5, 6)]
    pads = [RatingPad(f"pad-{n}") for n in (1, 3, 4, 5, 6)]
    hub = Hub(hall, [kiosk, caller, window, screen, voice, pad, *others, *pads, Screen("window-1")])
    t = at(DAY, "09:00:00")

    kiosk.take(hub, "payment", t)
    kiosk.take(hub, "payment", t + timedelta(seconds=20), priority="elderly")
    assert [p["ticket_no"] for p in kiosk.printed] == ["A001", "A002"]
    assert kiosk.printed[1]["waiting_ahead"] == 0  # the elderly customer goes first

    caller.press(hub, c.CALL_NEXT, t + timedelta(seconds=60), retransmit=True)
    assert caller.digits == "A002" and caller.beeps == 1
    assert window.shown == screen.shown == voice.shown == ["请A002号到2号窗口办理业务"]

    caller.press(hub, c.FINISH, t + timedelta(seconds=400))
    assert pad.showing is not None and pad.showing["ticket_no"] == "A002"
    pad.key(hub, 5, t + timedelta(seconds=410))

    caller.press(hub, c.CALL_NEXT, t + timedelta(seconds=420))
    assert caller.digits == "A001"
    caller.press(hub, c.CALL_NEXT, t + timedelta(seconds=700))  # finishes A001, nobody left
    assert caller.digits == "----"
    hub.tick(t + timedelta(seconds=800))  # A001's rating times out

    # A WeChat ticket ordered through the cloud.
    reply = hub.cloud_command(
        Command("hub", "queue.issue", {"service": "invoice"}, cmd_id="wx-1", origin="cloud"),
        t + timedelta(seconds=900),
    )
    assert reply["code"] == 202 and reply["data"]["request_id"] == "wx-1"
    wx = [d for d in hub.cloud_events(c.TICKET_ISSUED) if d["request_id"] == "wx-1"]
    assert wx and wx[0]["ticket_no"] == "D001" and wx[0]["channel"] == "wechat"

    # What the cloud saw, in hall order.
    assert [d["ticket_no"] for d in hub.cloud_events(c.TICKET_CALLED)] == ["A002", "A001"]
    done = hub.cloud_events(c.TICKET_COMPLETED)
    assert [(d["ticket_no"], d["counter"], d["wait_s"], d["service_s"]) for d in done] == [
        ("A002", 2, 40, 340),
        ("A001", 2, 420, 280),
    ]
    assert [(d["ticket_no"], d["level"]) for d in hub.cloud_events(c.RATING_RECEIVED)] == [
        ("A002", 5)
    ]
    assert [d["ticket_no"] for d in hub.cloud_events(c.RATING_TIMED_OUT)] == ["A001"]
    assert hub.cloud_events(c.RATING_SUBMITTED) == [{"level": 5}]
    seqs = [m["payload"]["hallseq"] for m in hub.cloud]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    topics = {m["topic"] for m in hub.cloud}
    assert "halls/h1/events/queue/ticket/issued" in topics
    assert "halls/h1/events/queue/status" in topics
    # The retransmitted frame was journaled but called nobody.
    presses = [m for m in hub.cloud if m["payload"]["type"] == c.COUNTER_ACTION]
    assert len(presses) == 5
