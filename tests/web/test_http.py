"""The hub's HTTP side on a real hub process: /metrics in the Prometheus format, health and
readiness against real broker outages, the console's API, login, CSRF, and bad input."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto, free_port
from edge.web.users import add_user
from tests.support.hall import ROOT, queue_tables, write_config
from tests.support.waits import wait_until
from tests.web.site import Site

EV = "hall/devices/pad-1/events/rating/submitted"
PASSWORD = "counter-secret-1"


@pytest.fixture
def hall(tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto) -> Iterator[Any]:
    port = free_port()
    cfg = write_config(
        tmp_path / "hall.toml",
        hall_broker.url,
        cloud_broker.url,
        tables={"http": {"listen": f"127.0.0.1:{port}", "users_file": "users"}},
    )
    add = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge.cli",
            "users",
            "add",
            "ana",
            "-c",
            str(cfg),
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert add.returncode == 0, add.stderr
    mode = (tmp_path / "users").stat().st_mode & 0o777
    assert mode == 0o640, f"the owner writes, the hub's group reads, others nothing: {mode:o}"
    hub = HubProcess(cfg)
    hub.start()
    site = Site(port)
    wait_until(lambda: _ok(site, "/readyz"), 10, "the hub is ready over HTTP")
    try:
        yield site, hub, hall_broker, cloud_broker
    finally:
        hub.stop()


def _ok(site: Site, path: str) -> bool:
    try:
        return site.request("GET", path)[0] == 200
    except OSError:
        return False


def test_metrics_follow_the_pipeline(hall: Any, hall_broker: Mosquitto) -> None:
    site, _hub, _hb, _cb = hall
    before = site.metrics()
    for name in (
        "hall_edge_events_journaled_total",
        "hall_edge_events_delivered_total",
        "hall_edge_outbox_backlog",
        "hall_edge_outbox_backlog_bytes",
        "hall_edge_cloud_connected",
        "hall_edge_hall_broker_connected",
        "hall_edge_journal_commit_seconds_bucket",
        "process_resident_memory_bytes",
        "process_open_fds",
    ):
        assert name in before, name
    journaled0 = before["hall_edge_events_journaled_total"][0].value
    dev = DevicePublisher(hall_broker.url)
    try:
        dev.publish("hall/devices/pad-1/state", {"state": "online"}, retain=True)
        for i in range(20):
            dev.publish(EV, {"id": f"r{i}", "level": 5})
        dev.publish(EV, b"{not json")
    finally:
        dev.close()

    def settled() -> bool:
        m = site.metrics()
        return (
            m["hall_edge_events_journaled_total"][0].value >= journaled0 + 20
            and m["hall_edge_events_delivered_total"][0].value >= journaled0 + 20
            and "hall_edge_dead_letters_total" in m
        )

    wait_until(settled, 15, "20 events journaled and delivered, one dead letter")
    m = site.metrics()
    assert [s.labels["reason"] for s in m["hall_edge_dead_letters_total"]] == ["invalid_json"]
    online = {s.labels["device"]: (s.labels["kind"], s.value) for s in m["hall_edge_device_online"]}
    assert online["pad-1"] == ("generic", 1.0)
    assert m["hall_edge_cloud_connected"][0].value == 1.0
    count = m["hall_edge_journal_commit_seconds_count"][0].value
    assert count >= 1, "each batch observed in the commit histogram"


def test_health_and_readiness_follow_the_brokers(hall: Any) -> None:
    site, _hub, hall_broker, cloud_broker = hall
    status, body = site.json("GET", "/healthz")
    assert (status, body["status"]) == (200, "ok")
    status, body = site.json("GET", "/readyz")
    assert (status, body["cloud"], body["hall_broker"]) == (200, "connected", "connected")

    cloud_broker.stop()
    wait_until(
        lambda: site.json("GET", "/readyz")[1]["cloud"] != "connected", 10, "cloud seen down"
    )
    status, body = site.json("GET", "/readyz")
    assert status == 200, "a cloud outage is no reason to be unready: the hub spools"
    assert body["cloud"] == "disconnected (spooling)"

    hall_broker.stop()
    wait_until(lambda: site.request("GET", "/readyz")[0] == 503, 10, "unready without the hall")
    status, body = site.json("GET", "/readyz")
    assert "hall broker is not connected" in body["reason"]
    assert site.json("GET", "/healthz")[0] == 200, "alive all the same"
    hall_broker.start()
    wait_until(lambda: site.request("GET", "/readyz")[0] == 200, 15, "ready again")


def test_login_csrf_and_rate_limit(hall: Any) -> None:
    site, *_ = hall
    status, body = site.json(
        "POST", "/api/login", body=json.dumps({"name": "ana", "password": "wrong-one"}).encode()
    )
    assert (status, body["error"]) == (401, "wrong name or password")
    status, headers, raw = site.request(
        "POST", "/api/login", body=json.dumps({"name": "ana", "password": PASSWORD}).encode()
    )
    assert status == 200, raw
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    token = cookie.split(";", 1)[0]
    csrf = json.loads(raw)["csrf"]
    state = site.json("GET", "/api/state", headers={"cookie": token})[1]
    assert state["user"] == {"name": "ana"}
    assert site.json("GET", "/api/state")[1]["user"] is None

    assert site.request("POST", "/api/alerts/1/ack")[0] == 401, "no session"
    assert site.request("POST", "/api/alerts/1/ack", headers={"cookie": token})[0] == 403
    wrong = {"cookie": token, "x-csrf-token": csrf[:-1] + "x"}
    assert site.request("POST", "/api/alerts/1/ack", headers=wrong)[0] == 403
    good = {"cookie": token, "x-csrf-token": csrf}
    assert site.request("POST", "/api/alerts/999/ack", headers=good)[0] == 404

    # Five failures a minute per name: the sixth try is refused before the password is read.
    statuses = [
        site.request(
            "POST", "/api/login", body=json.dumps({"name": "ana", "password": f"x{i}"}).encode()
        )[0]
        for i in range(6)
    ]
    assert statuses[:4] == [401] * 4 and statuses[-1] == 429, statuses
    status, headers, raw = site.request(
        "POST", "/api/login", body=json.dumps({"name": "ana", "password": PASSWORD}).encode()
    )
    assert status == 429 and int(headers["retry-after"]) > 0, "even the right password waits"


def test_bad_requests(hall: Any) -> None:
    site, *_ = hall
    assert site.json("GET", "/no/such/page")[0] == 404
    assert site.json("GET", "/static/../routes.py")[0] == 404, "no way out of static/"
    assert site.json("DELETE", "/metrics")[0] == 405
    status, body = site.json("POST", "/api/login", body=b"{nope")
    assert status == 400 and "not JSON" in body["error"]
    assert site.json("POST", "/api/login", body=b"x" * (64 * 1024 + 1))[0] == 413
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as s:
        s.sendall(b"GARBAGE\x00 / HTTP/9\r\n\r\n")
        assert s.recv(200).startswith(b"HTTP/1.1 400 ")
    assert _ok(site, "/healthz"), "still serving"


def test_state_has_every_section_and_no_face_data(hall: Any, hall_broker: Mosquitto) -> None:
    site, *_ = hall
    dev = DevicePublisher(hall_broker.url)
    try:
        dev.publish("hall/devices/pad-1/state", {"state": "online"}, retain=True)
    finally:
        dev.close()
    wait_until(
        lambda: site.json("GET", "/api/state")[1]["devices"][0]["online"] is True, 10, "online"
    )
    state = site.json("GET", "/api/state")[1]
    assert set(state) == {"hall", "queue", "counters", "devices", "ratings", "ops", "user"}
    assert state["hall"]["id"] == "test-hall"
    assert state["ops"]["cloud"]["connected"] is True
    text = json.dumps(state)
    for word in ("encoding", "image", "person", "face_name"):
        assert word not in text


def test_live_events_carry_a_change(hall: Any, hall_broker: Mosquitto) -> None:
    site, *_ = hall
    sock = socket.create_connection(("127.0.0.1", site.port), timeout=10)
    sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while b"event: state" not in got:
        got += sock.recv(65536)
    assert b"text/event-stream" in got
    dev = DevicePublisher(hall_broker.url)
    t0 = time.monotonic()
    try:
        dev.publish("hall/devices/pad-1/state", {"state": "offline"}, retain=True)
        while b'"online":false' not in got:
            got += sock.recv(65536)
    finally:
        dev.close()
        sock.close()
    assert time.monotonic() - t0 < 5


def _login(site: Site) -> dict[str, str]:
    status, headers, raw = site.request(
        "POST", "/api/login", body=json.dumps({"name": "ana", "password": PASSWORD}).encode()
    )
    assert status == 200, raw
    return {
        "cookie": headers["set-cookie"].split(";", 1)[0],
        "x-csrf-token": json.loads(raw)["csrf"],
    }


@pytest.fixture
def queue_hall(tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto) -> Iterator[Site]:
    port = free_port()
    tables = {
        **queue_tables({"number": 1, "services": ["payment"]}),
        "http": {"listen": f"127.0.0.1:{port}", "users_file": "users"},
    }
    cfg = write_config(tmp_path / "hall.toml", hall_broker.url, cloud_broker.url, tables=tables)
    add_user(tmp_path / "users", "ana", PASSWORD)
    hub = HubProcess(cfg)
    hub.start()
    site = Site(port)
    wait_until(lambda: _ok(site, "/readyz"), 10, "the hub is ready over HTTP")
    try:
        yield site
    finally:
        hub.stop()


def test_an_alert_is_acknowledged_and_a_counter_opened(
    queue_hall: Site, hall_broker: Mosquitto
) -> None:
    site = queue_hall
    dev = DevicePublisher(hall_broker.url)
    try:
        # The default rules pack raises an alert for a printer low on paper.
        dev.publish("hall/devices/pad-1/events/printer/status", {"paper": "near_end"})
    finally:
        dev.close()

    def alerts() -> list[dict[str, Any]]:
        return list(site.json("GET", "/api/state")[1]["ops"]["alerts"])

    wait_until(alerts, 10, "the alert on the console")
    alert = alerts()[0]
    assert (alert["kind"], alert["acked"]) == ("printer-paper-near-end", False)
    devices = site.json("GET", "/api/state")[1]["devices"]
    assert devices[0]["health"] == {"paper": "near_end"}, "the device's own health"
    auth = _login(site)
    status, body = site.json("POST", f"/api/alerts/{alert['id']}/ack", headers=auth)
    assert (status, body) == (200, {"id": alert["id"], "acked": True})
    assert alerts()[0]["acked"] is True and alerts()[0]["acked_by"] == "ana"

    counters = site.json("GET", "/api/state")[1]["counters"]
    assert counters[0]["state"] == "closed"
    status, body = site.json("POST", "/api/counters/1/open", headers=auth)
    assert status == 200 and body["code"] == 202
    wait_until(
        lambda: site.json("GET", "/api/state")[1]["counters"][0]["state"] == "open", 5, "open"
    )
    assert site.json("POST", "/api/counters/7/pause", headers=auth)[0] == 404


def test_docs_name_every_metric_served(hall: Any) -> None:
    site, *_ = hall
    body = site.request("GET", "/metrics")[2].decode()
    # Family names: a labelled family without samples yet (no dead letter) is still served.
    served = {f.name for f in text_string_to_metric_families(body) if f.name.startswith("hall_")}
    assert len(served) >= 19
    ops = (ROOT / "docs" / "operations.md").read_text("utf-8")
    assert not [n for n in sorted(served) if n not in ops], "docs/operations.md names each metric"
    dashboard = (ROOT / "docs" / "grafana-hall-edge.json").read_text("utf-8")
    used = set(re.findall(r"hall_edge_[a-z_]+", dashboard))
    known = served | {f"{n}_total" for n in served} | {f"{n}_bucket" for n in served}
    assert used and used <= known, used - known


def test_a_hundred_stalled_pages_do_not_stop_the_pipeline(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    port = free_port()
    cfg = write_config(
        tmp_path / "hall.toml",
        hall_broker.url,
        cloud_broker.url,
        tables={"http": {"listen": f"127.0.0.1:{port}", "max_clients": 100}},
    )
    hub = HubProcess(cfg)
    hub.start()
    site = Site(port)
    socks: list[socket.socket] = []
    try:
        wait_until(lambda: _ok(site, "/readyz"), 10, "ready")
        for _ in range(100):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and never read
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        wait_until(
            lambda: site.metrics()["hall_edge_http_live_clients"][0].value == 100, 10, "100 pages"
        )
        status, headers, _ = site.request("GET", "/api/events")
        assert status == 503 and headers["retry-after"] == "5", "the 101st page waits"
        journaled0 = site.metrics()["hall_edge_events_journaled_total"][0].value
        dev = DevicePublisher(hall_broker.url)
        try:
            for i in range(3000):
                dev.publish(EV, {"id": f"s{i}", "level": 4})
        finally:
            dev.close()
        wait_until(
            lambda: (
                site.metrics()["hall_edge_events_delivered_total"][0].value >= journaled0 + 3000
            ),
            60,
            "3,000 events through the hub to the cloud beside 100 stalled pages",
        )
        assert site.json("GET", "/healthz")[0] == 200
    finally:
        for s in socks:
            s.close()
        hub.stop()
    wait_until(lambda: "hub stopped" in (tmp_path / "hub.log").read_text(), 10, "a clean stop")
