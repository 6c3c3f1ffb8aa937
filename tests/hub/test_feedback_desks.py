"""The feedback machine and the e-form desk have availability (their vendor state topics),
and `feedback.close` on the hub closes a complaint — real hub process, real brokers."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.support.audit import journal_rows
from tests.support.cloud import CloudClient
from tests.support.hall import write_config
from tests.support.waits import wait_until

TZ = ZoneInfo("Asia/Shanghai")  # the hall's default time zone


def _journal(db: Path, etype: str) -> list[dict[str, Any]]:
    sql = "SELECT envelope FROM journal WHERE type = ? ORDER BY seq"
    return [json.loads(r[0]) for r in journal_rows(db, sql, (etype,))]


def test_availability_and_feedback_close(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    devices = [
        {"id": "voc-1", "profile": "feedback-machine-mqtt", "settings.serial": "VOC7"},
        {"id": "desk-1", "profile": "eform-desk-mqtt", "settings.serial": "EF7"},
    ]
    cfg = write_config(tmp_path / "hall.toml", hall_broker.url, cloud_broker.url, devices)
    db = tmp_path / "hall.db"
    hub = HubProcess(cfg)
    hub.start()
    dev = DevicePublisher(hall_broker.url, client_id="vendor-devices")
    cloud = CloudClient(cloud_broker.url)
    try:
        for topic in ("voc/VOC7/state", "eform/EF7/state"):
            dev.publish(topic, b"online", retain=True)
        wait_until(lambda: len(_journal(db, "device.online")) == 2, 15, "both online")
        dev.publish("eform/EF7/state", b"offline", retain=True)  # its last will, say
        wait_until(lambda: _journal(db, "device.offline"), 15, "the desk offline")
        assert [e["deviceid"] for e in _journal(db, "device.offline")] == ["desk-1"]
        assert {e["deviceid"] for e in _journal(db, "device.online")} == {"voc-1", "desk-1"}

        now = datetime.now(TZ)
        dev.publish(
            "voc/VOC7/submit",
            {"id": "f-1", "kind": 1, "content": "等太久", "createdAt": now.isoformat()},
        )
        wait_until(lambda: _journal(db, "feedback.submitted"), 15, "the complaint")
        assert _journal(db, "feedback.submitted")[0]["data"]["feedback_id"] == "f-1"
        day = now.strftime("%Y-%m-%d")
        cloud.send("hub", "kpi.report", {"cmd_id": "k-1", "args": {"day": day}})
        assert cloud.wait_reply("k-1", 200)[0]["data"]["feedback"]["complaints_open"] == 1

        cloud.send("hub", "feedback.close", {"cmd_id": "fc-bad", "args": {"feedback_id": ""}})
        assert "feedback_id" in cloud.wait_reply("fc-bad", 400)[0]["msg"]
        args = {"feedback_id": "f-1", "note": "已回访"}
        cloud.send("hub", "feedback.close", {"cmd_id": "fc-1", "args": args})
        [reply] = cloud.wait_reply("fc-1", 200)
        assert reply["data"] == {"feedback_id": "f-1", "closed": True}
        (closed,) = _journal(db, "feedback.closed")  # journaled before the 200
        assert closed["deviceid"] == "cloud"
        assert closed["data"] == {"feedback_id": "f-1", "cmd_id": "fc-1", "note": "已回访"}
        cloud.send("hub", "kpi.report", {"cmd_id": "k-2", "args": {"day": day}})
        assert cloud.wait_reply("k-2", 200)[0]["data"]["feedback"]["complaints_open"] == 0
    finally:
        dev.close()
        cloud.close()
        hub.stop()
