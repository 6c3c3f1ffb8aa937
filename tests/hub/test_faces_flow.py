"""Face recognition through the real hub: an enrolled VIP is recognised from a camera frame,
a stranger is not, and nothing face-derived reaches the cloud broker (every payload checked)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.faces.detect import DetectSettings, find_faces
from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.faces.privacy import assert_no_face_data
from tests.support.cloud import CloudClient
from tests.support.hall import ROOT, Collector, write_config

PHOTOS = ROOT / ".." / "shared" / "faces"

FACES = """
[faces]
enabled = true
downscale = 640
upsample = 0
footfall_interval_s = 2
visit_gap_min = 0.01  # 0.6 s: each frame may recognise again, so erasure is observable
"""


def test_recognition_through_the_hub_keeps_faces_on_the_hub(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    if not (PHOTOS / "obama.jpg").is_file():
        # A stranger must not be recognised: photos of two people (../shared/faces).
        pytest.skip(f"cross-person accuracy needs photos of two people: not in {PHOTOS.resolve()}")
    cfg = write_config(
        tmp_path / "hall.toml",
        hall_broker.url,
        cloud_broker.url,
        devices=[{"id": "cam-1", "profile": "face-camera-mqtt"}],
        extra=FACES,
    )
    enrol = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge.cli",
            "faces",
            "enroll",
            "-c",
            str(cfg),
            "--image",
            str(PHOTOS / "obama.jpg"),
            "--customer-ref",
            "C-0001",
            "--consent-id",
            "CONSENT-1",
            "--expires",
            (date.today() + timedelta(days=365)).isoformat(),
            "--vip",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert enrol.returncode == 0, enrol.stdout + enrol.stderr
    cloud = Collector(cloud_broker.url, ["#"], client_id="privacy-watch")
    hub = HubProcess(cfg)
    hub.start()
    cam = DevicePublisher(hall_broker.url, client_id="cam-1")

    def recognised() -> list[dict[str, Any]]:
        return [e for e in cloud.envelopes() if e["type"] == "customer.recognized"]

    try:
        deadline = time.monotonic() + 90  # the first frame waits for the worker to load dlib
        while not recognised() and time.monotonic() < deadline:
            cam.publish("hall/devices/cam-1/snapshot", (PHOTOS / "obama2.jpg").read_bytes())
            time.sleep(2.0)
        assert recognised(), hub.log_text()[-2000:]
        for _ in range(3):  # a different person, several frames
            cam.publish("hall/devices/cam-1/snapshot", (PHOTOS / "biden.jpg").read_bytes())
            time.sleep(1.5)
        cloud.wait_for(
            lambda: any(e["type"] == "footfall.counted" for e in cloud.envelopes()), 30, "footfall"
        )
        # The customer at the counter camera signs consent: enrolled from the live frame.
        app = CloudClient(cloud_broker.url)
        expires = (date.today() + timedelta(days=30)).isoformat()
        cam.publish("hall/devices/cam-1/snapshot", (PHOTOS / "biden.jpg").read_bytes())
        time.sleep(1.0)
        app.send(
            "cam-1",
            "face.enroll",
            {
                "cmd_id": "enrol-1",
                "args": {"customer_ref": "C-0002", "consent_id": "CONSENT-2", "expires": expires},
            },
        )
        assert app.wait_reply("enrol-1", 200, timeout=30)[0]["data"]["customer_ref"] == "C-0002"
        app.send(
            "cam-1",
            "face.enroll",
            {"cmd_id": "enrol-2", "args": {"customer_ref": "C-0003", "expires": expires}},
        )
        assert "consent" in app.wait_reply("enrol-2", 400, timeout=30)[0]["msg"]
        # Erasure at once: the first customer is no longer recognised.
        app.send("hub", "face.erase", {"cmd_id": "erase-1", "args": {"customer_ref": "C-0001"}})
        app.wait_reply("erase-1", 200)
        before = len(recognised())
        for _ in range(3):
            cam.publish("hall/devices/cam-1/snapshot", (PHOTOS / "obama2.jpg").read_bytes())
            time.sleep(1.5)
        after_erase = recognised()[before:]
        app.close()
    finally:
        cam.close()
        hub.stop()
        cloud.close()
    assert all(e["data"]["customer_ref"] != "C-0001" for e in after_erase), "erased means erased"

    hits = recognised()
    refs = [e["data"]["customer_ref"] for e in hits]
    first_other = next((i for i, r in enumerate(refs) if r != "C-0001"), len(refs))
    assert set(refs[:first_other]) == {"C-0001"}, "only the enrolled customer, never the stranger"
    assert set(refs) <= {"C-0001", "C-0002"}
    data = hits[0]["data"]
    assert data["camera"] == "cam-1" and data["consent_id"] == "CONSENT-1"
    assert data["vip"] is True and 0 <= data["distance"] < 0.6
    assert set(data) <= {"camera", "customer_ref", "distance", "consent_id", "vip"}
    footfall = next(e for e in cloud.envelopes() if e["type"] == "footfall.counted")["data"]
    assert {"entered", "left", "occupancy"} <= set(footfall)

    settings = DetectSettings(downscale=640, upsample=0)
    encodings = [
        f.encoding
        for name in ("obama.jpg", "obama2.jpg", "biden.jpg")
        for f in find_faces((PHOTOS / name).read_bytes(), settings)
    ]
    assert len(encodings) == 3
    assert cloud.messages, "the watcher saw the cloud traffic"
    for topic, payload, _ in cloud.messages:
        assert_no_face_data(payload, encodings)
        if topic.endswith("/events/customer/recognized"):
            assert "encoding" not in json.loads(payload)["data"]
