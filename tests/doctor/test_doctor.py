"""`hall-edge doctor` on a healthy staged hall, then one failure at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from edge.install.layout import Layout
from edge.sim.mosquitto import Mosquitto, free_port
from tests.doctor.conftest import HUB_PW, StagedHall, doctor, doctor_json
from tests.support.hall import ROOT

# Checks that cannot hold on a test box whatever the hall does (no NTP in a container).
BOX_DEPENDENT = {"clock"}

EXPECTED = {
    "config",
    "journal folder",
    "disk",
    "hall broker",
    "anonymous refused",
    "hub login",
    "hub state",
    "cloud reachable",
    "cloud TLS",
    "http",
    "console users",
    "certificate cloud.ca",
    "certificate cloud.cert",
    "key cloud.key",
    "clock",
    "serial display-1",
    "unit hall-edge.service",
    "unit mosquitto-hall.service",
    "udev rules",
}


def test_healthy_hall_is_all_green(hall: StagedHall) -> None:
    root = str(hall.layout.root)
    # The real command, as an installer types it (default config under --root).
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "doctor", "--root", root, "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    checks = [json.loads(line) for line in done.stdout.splitlines()]
    assert {c["name"] for c in checks} == EXPECTED, done.stdout + done.stderr
    for c in checks:
        assert set(c) == {"name", "ok", "level", "detail", "hint"}
        if c["name"] not in BOX_DEPENDENT:
            assert c["level"] == "ok", c
    assert done.returncode == 0, done.stdout + done.stderr
    by_name = {c["name"]: c for c in checks}
    assert by_name["hub state"]["detail"].startswith("online since")
    assert "TLSv1.3" in by_name["cloud TLS"]["detail"]
    assert "client certificate" in by_name["cloud TLS"]["detail"]

    rc, text = doctor("--root", root)
    lines = text.splitlines()
    assert rc == 0
    assert lines[-1].startswith(f"{len(EXPECTED)} checks: 0 failed")
    assert all(line[0] in "✓!" for line in lines[:-1]), text


def _failed(rc: int, checks: dict[str, dict[str, object]], name: str) -> str:
    assert rc == 1
    assert checks[name]["level"] == "fail" and checks[name]["ok"] is False, checks[name]
    assert checks[name]["hint"], "every ✗ has a fix hint"
    return str(checks[name]["detail"])


def test_hall_broker_down(hall: StagedHall) -> None:
    cfg = hall.variant(hall_broker={"url": f"mqtt://127.0.0.1:{free_port()}"})
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    assert "Connection refused" in _failed(rc, checks, "hall broker")
    for name in ("anonymous refused", "hub login", "hub state"):
        assert checks[name]["level"] == "warn" and "unreachable" in str(checks[name]["detail"])


def test_anonymous_allowed(hall: StagedHall) -> None:
    with Mosquitto(hall.layout.root / "open-broker", persistence=False) as open_broker:
        cfg = hall.variant(hall_broker={"url": open_broker.url})
        rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    assert "accepts logins without a user name" in _failed(rc, checks, "anonymous refused")
    assert "allow_anonymous false" in str(checks["anonymous refused"]["hint"])


def test_wrong_hub_password(hall: StagedHall) -> None:
    cfg = hall.variant(hall_broker={"password": "not-the-hubs"})
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    detail = _failed(rc, checks, "hub login")
    assert "does not match 'hall-edge'" in detail and str(hall.layout.broker_passwd) in detail
    assert "broker sync" in str(checks["hub login"]["hint"])
    # Checked without logging in as the hub: the running hub kept its connection.
    assert checks["hub state"]["level"] == "ok"
    assert hall.hub.log_text().count("hall broker: connected") == 1


def test_cloud_certificate_expiring_in_10_days(hall: StagedHall) -> None:
    soon = hall.issue("soon", days=10)
    cfg = hall.variant(cloud={"cert": str(soon.cert), "key": str(soon.key)})
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    cert = checks["certificate cloud.cert"]
    assert cert["level"] == "warn" and "in 10 days" in str(cert["detail"]), cert
    assert checks["cloud TLS"]["level"] == "ok"  # still accepted: a warning, not a failure
    assert rc == 0
    rc, text = doctor("--root", str(hall.layout.root), "--config", str(cfg))
    assert [ln for ln in text.splitlines() if ln.startswith("! certificate cloud.cert:")]


def test_expired_client_certificate(hall: StagedHall) -> None:
    old = hall.issue("old", expired=True)
    cfg = hall.variant(cloud={"cert": str(old.cert), "key": str(old.key)})
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    assert f"{old.cert} expired on" in _failed(rc, checks, "certificate cloud.cert")
    tls = _failed(rc, checks, "cloud TLS")
    assert f"client certificate {old.cert} expired on" in tls and "alert" in tls


def test_server_certificate_from_another_ca(hall: StagedHall) -> None:
    cfg = hall.variant(cloud={"url": f"mqtts://127.0.0.3:{hall.cloud.port}"})
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    tls = _failed(rc, checks, "cloud TLS")
    assert f"not signed by the CA in {hall.ca.path}" in tls
    assert "\n" not in tls


def test_wrong_host_name(hall: StagedHall) -> None:
    cfg = hall.variant(cloud={"url": f"mqtts://127.0.0.2:{hall.cloud.port}"})
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    tls = _failed(rc, checks, "cloud TLS")
    assert "not issued for 127.0.0.2" in tls and "IP address mismatch" in tls


def test_key_readable_by_others(hall: StagedHall) -> None:
    loose = hall.issue("loose")
    os.chmod(loose.key, 0o644)
    cfg = hall.variant(cloud={"cert": str(loose.cert), "key": str(loose.key)})
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    assert "cloud.key: expected a file readable only by its owner (mode 0600), got 0644" in (
        _failed(rc, checks, "config")
    )
    assert "got 0644" in _failed(rc, checks, "key cloud.key")
    assert f"chmod 600 {loose.key}" in str(checks["key cloud.key"]["hint"])
    # The other checks still ran on the config's shape.
    assert checks["hub state"]["level"] == "ok"


def test_serial_port_missing(hall: StagedHall) -> None:
    devices = [
        *hall.devices,
        {
            "id": "display-2",
            "profile": "call-display-485",
            "settings": {"port": "/dev/ttyNOPE9"},
        },
    ]
    cfg = hall.variant(devices=devices)
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    assert "/dev/ttyNOPE9 is not present" in _failed(rc, checks, "serial display-2")
    assert checks["serial display-1"]["level"] == "ok"


def test_disk_too_small_for_the_spool_budget(hall: StagedHall) -> None:
    cfg = hall.variant(store={"spool_max_bytes": 10**18})
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    assert "the budget does not fit" in _failed(rc, checks, "disk")


def test_not_installed(hall: StagedHall) -> None:
    empty = hall.layout.root.parent / "empty-root"
    empty.mkdir(exist_ok=True)
    rc, checks = doctor_json("--root", str(empty), "--config", str(hall.layout.config))
    for name in ("unit hall-edge.service", "unit mosquitto-hall.service", "udev rules"):
        _failed(rc, checks, name)
    assert f"--root {empty}" in str(checks["udev rules"]["hint"])


def test_face_key_mode(hall: StagedHall) -> None:
    key = hall.layout.etc / "faces.key"
    key.write_text("x" * 44)
    os.chmod(key, 0o640)
    cfg = hall.variant(faces={"enabled": True, "key_path": str(key)})
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    assert "got 0640" in _failed(rc, checks, "face key")
    os.chmod(key, 0o600)
    rc, checks = doctor_json("--root", str(hall.layout.root), "--config", str(cfg))
    assert checks["face key"]["level"] == "ok"


def test_hub_login_live_where_the_broker_does_not_bind_client_ids(hall: StagedHall) -> None:
    # Another box's layout: its broker conf lets a client choose its id and no password
    # file is readable, so the doctor logs in as the hub (with a client id of its own).
    other = Layout(hall.layout.root.parent / "other-root")
    other.etc.mkdir(parents=True, exist_ok=True)
    other.broker_conf.write_text("listener 1883\nallow_anonymous false\n")
    broker = Mosquitto(
        hall.layout.root / "password-broker", persistence=False, users={"hall-edge": HUB_PW}
    )
    broker.start()
    try:
        good = hall.variant(hall_broker={"url": broker.url})
        rc, checks = doctor_json("--root", str(other.root), "--config", str(good))
        assert checks["hub login"]["level"] == "ok", checks["hub login"]
        assert "logged in" in str(checks["hub login"]["detail"])
        # The hub's account reads the state there: this broker never saw the hub.
        assert "never connected" in _failed(rc, checks, "hub state")
        bad = hall.variant(hall_broker={"url": broker.url, "password": "wrong"})
        rc, checks = doctor_json("--root", str(other.root), "--config", str(bad))
        assert "Not authorized" in _failed(rc, checks, "hub login")
    finally:
        broker.stop()


def test_hub_offline_last(hall: StagedHall) -> None:
    # Last in the module: it stops the hall's hub (its retained state becomes offline).
    assert hall.hub.stop() == 0
    rc, checks = doctor_json("--root", str(hall.layout.root))
    detail = _failed(rc, checks, "hub state")
    assert detail.startswith("offline since")
    assert "journalctl -u hall-edge" in str(checks["hub state"]["hint"])


def test_http_nothing_answers_and_no_users(hall: StagedHall, tmp_path_factory: object) -> None:
    empty = hall.layout.etc / "no-users"
    empty.write_text("# nobody yet\n")
    cfg = hall.variant(http={"listen": f"127.0.0.1:{free_port()}", "users_file": "no-users"})
    rc, checks = doctor_json("--config", str(cfg), "--root", str(hall.layout.root))
    assert "nothing answers on http://127.0.0.1:" in _failed(rc, checks, "http")
    assert checks["console users"]["level"] == "warn"
    assert "hall-edge users add NAME" in str(checks["console users"]["hint"])
