"""The two face camera profiles in firmware-configs/ are valid data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edge.faces.snapshot import snapshot_settings

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware-configs"
NAMES = ["face-camera-mqtt", "face-camera-snapshot"]


@pytest.mark.parametrize("name", NAMES)
def test_plain_shape(name: str) -> None:
    data = yaml.safe_load((FIRMWARE / f"{name}.yaml").read_text(encoding="utf-8"))
    assert data["kind"] == "face_camera" and data["model"] == name and data["vendor"]
    assert set(data["commands"]) == {"face.enroll", "face.erase"}
    assert data["transport"]["type"] == "mqtt"
    snapshot = data["face_camera"]["snapshot"]
    if name.endswith("mqtt"):
        assert snapshot == {
            "source": "mqtt",
            "topic": "hall/devices/{device_id}/snapshot",
            "payload": "jpeg",
            "max_bytes": 4_000_000,
        }
    else:
        assert snapshot["source"] == "http"
        assert data["settings"]["snapshot_url"]["required"] is True
        assert data["settings"]["interval_s"]["default"] == 1.0
    enroll_args = set(data["commands"]["face.enroll"]["args"])
    assert enroll_args == {
        "customer_ref",
        "consent_id",
        "expires",
        "purpose",
        "minor",
        "guardian_consent_id",
        "vip",
    }


@pytest.mark.parametrize("name", NAMES)
def test_loads_with_the_profile_loader(name: str) -> None:
    profiles = pytest.importorskip(
        "edge.drivers.profiles", reason="the device profile loader is not in this tree"
    )
    profile = profiles.load_profile(FIRMWARE / f"{name}.yaml")
    assert profile.kind == "face_camera"
    assert set(profile.commands) == {"face.enroll", "face.erase"}


def test_snapshot_profile_settings_feed_the_poller() -> None:
    data = yaml.safe_load((FIRMWARE / "face-camera-snapshot.yaml").read_text(encoding="utf-8"))
    defaults = {k: v["default"] for k, v in data["settings"].items() if "default" in v}
    s = snapshot_settings(
        {"snapshot_url": "http://10.1.2.3/cgi-bin/snapshot.cgi"},
        "hall.toml",
        "devices[0].settings",
        defaults,
    )
    assert (s.interval_s, s.timeout_s, s.max_bytes) == (1.0, 3.0, 4_000_000)
