"""Ingest: dead letters for every reason, device-side duplicates, availability, last wills."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.support.hall import ROOT, Collector, write_config

EV = "hall/devices/pad-1/events/rating/submitted"


def _deadletters(cfg: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge.cli",
            "deadletters",
            "-c",
            str(cfg),
            "--json",
            "--limit",
            "100",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"COLUMNS": "400", "PATH": "/usr/bin"},
    ).stdout
    # JSON lines, as its help says: every line is one whole object.
    return [json.loads(line) for line in out.splitlines()]


def test_every_dead_letter_reason_and_the_pipeline_goes_on(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    small = {"hall_broker": {"max_message_bytes": 2048}}
    cfg = write_config(tmp_path / "hall.toml", hall_broker.url, cloud_broker.url, tables=small)
    cloud = Collector(cloud_broker.url, ["halls/test-hall/events/#"])
    hub = HubProcess(cfg)
    hub.start()
    dev = DevicePublisher(hall_broker.url)
    bad = [
        (EV, b"{not json", "invalid_json"),
        (EV, b"[1, 2, 3]", "not_an_object"),
        ("hall/devices/ghost/events/rating/submitted", b'{"level": 5}', "unknown_device"),
        (EV, json.dumps({"level": 5, "pad": "x" * 4000}).encode(), "too_large"),
        (EV, b'{"id": {"a": 1}, "level": 5}', "bad_field"),
        (EV, b'{"time": "yesterday", "level": 5}', "bad_field"),
        ("hall/devices/pad-1/state", b'{"state": "sleepy"}', "bad_field"),
        ("hall/devices/pad-1/events", b"{}", "bad_topic"),
    ]
    try:
        for topic, payload, _ in bad:
            dev.publish(topic, payload)
        for i in range(5):
            dev.publish(EV, {"id": "same-press", "level": 4, "n": i})  # one physical press, resent
        dev.publish(EV, {"id": "after", "level": 5, "n": 99})
        cloud.wait_for(
            lambda: any(e["data"].get("n") == 99 for e in cloud.envelopes()), 30, "the valid event"
        )
        time.sleep(0.5)
        rows = _deadletters(cfg)
    finally:
        dev.close()
        hub.stop()
        cloud.close()
    reasons = sorted(str(r["reason"]) for r in rows)
    assert reasons == sorted(r for _, _, r in bad), reasons
    raw = {str(r["raw"]) for r in rows}
    assert "{not json" in raw and "[1, 2, 3]" in raw, "the raw bytes are kept"
    assert {str(r["topic"]) for r in rows} >= {EV, "hall/devices/ghost/events/rating/submitted"}
    ratings = [e for e in cloud.envelopes() if e["type"] == "rating.submitted"]
    assert [e["data"]["n"] for e in ratings if e["data"].get("n") != 99] == [0], (
        "a device id is journaled once"
    )


def test_hub_last_will_and_device_availability(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    cfg = write_config(tmp_path / "hall.toml", hall_broker.url, cloud_broker.url)
    cloud = Collector(cloud_broker.url, ["halls/test-hall/#"], client_id="avail")
    hall = Collector(hall_broker.url, ["hall/hub/state"], client_id="hall-watch")
    hub = HubProcess(cfg)
    hub.start()
    dev = DevicePublisher(hall_broker.url)
    try:
        dev.publish("hall/devices/pad-1/state", b'{"state": "online"}', retain=True)
        dev.publish("hall/devices/pad-1/state", b'{"state": "offline"}', retain=True)
        cloud.wait_for(
            lambda: (
                [e["type"] for e in cloud.envelopes() if e["type"].startswith("device.")]
                == ["device.online", "device.offline"]
            ),
            20,
            "online then offline",
        )
        hub.kill()  # no goodbye: the brokers publish the hub's last wills
        cloud.wait_for(
            lambda: any(
                t == "halls/test-hall/state" and json.loads(p)["state"] == "offline"
                for t, p, _ in cloud.messages
            ),
            30,
            "cloud last will",
        )
        hall.wait_for(
            lambda: any(json.loads(p)["state"] == "offline" for _, p, _ in hall.messages),
            30,
            "hall last will",
        )
        states = [
            json.loads(p)["state"]
            for t, p, _ in cloud.messages
            if t == "halls/test-hall/devices/pad-1/state"
        ]
        assert states[-1] == "offline"
    finally:
        dev.close()
        hall.close()
        cloud.close()
