"""The cloud link over TLS against a real Mosquitto that requires client certificates.

One TLS broker for the module (tests/support/tlsbroker.py): the hub connects with
`mqtts://` + ca, cert, key and a password from a file; the test's own cloud peers use the
broker's plain loopback listener, so what they see is exactly what the hub sent over TLS.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.errors import LinkError
from edge.mqttio import LinkOptions, MqttLink
from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.support.certs import CertAuthority
from tests.support.cloud import CloudClient, FakeDevice
from tests.support.hall import Collector, write_config
from tests.support.tlsbroker import TlsMosquitto

PASSWORD = "tls-test-password"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pki")
    ca = CertAuthority(folder / "ca")
    other = CertAuthority(folder / "other", "other-ca")
    return {
        "ca": ca,
        "server": ca.server(),
        "foreign": other.server("foreign", hosts=("127.0.0.3", "127.0.0.1", "localhost")),
        "client": ca.client(),
        "expired": ca.client("expired", expired=True),
    }


@pytest.fixture(scope="module")
def brokers(
    tmp_path_factory: pytest.TempPathFactory, pki: dict[str, Any]
) -> Iterator[tuple[Mosquitto, TlsMosquitto]]:
    tmp = tmp_path_factory.mktemp("brokers")
    hall = Mosquitto(tmp / "hall")
    cloud = TlsMosquitto(
        tmp / "cloud",
        pki["ca"].path,
        pki["server"].cert,
        pki["server"].key,
        users={"test-hall": PASSWORD},
        foreign=(pki["foreign"].cert, pki["foreign"].key),
    )
    hall.start()
    cloud.start()
    yield hall, cloud
    hall.stop()
    cloud.stop()


def _hub_config(
    folder: Path, hall: Mosquitto, url: str, pki: dict[str, Any], client: str = "client"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cloud.pass").write_text(PASSWORD + "\n")
    issued = pki[client]
    cloud = {
        "username": "test-hall",
        "password_file": "cloud.pass",
        "ca": str(pki["ca"].path),
        "cert": str(issued.cert),
        "key": str(issued.key),
    }
    return write_config(folder / "hall.toml", hall.url, url, tables={"cloud": cloud})


def test_events_and_commands_flow_over_tls(
    tmp_path: Path, brokers: tuple[Mosquitto, TlsMosquitto], pki: dict[str, Any]
) -> None:
    hall, cloud_broker = brokers
    cfg = _hub_config(tmp_path, hall, cloud_broker.url, pki)
    cloud = Collector(cloud_broker.plain_url, ["halls/test-hall/#"], client_id="tls-collector")
    hub = HubProcess(cfg)
    hub.start()
    dev = DevicePublisher(hall.url)
    answering = FakeDevice(hall.url, "pad-1", 200)
    app = CloudClient(cloud_broker.plain_url)
    n = 300
    try:
        for i in range(n):
            dev.publish(
                "hall/devices/pad-1/events/rating/submitted",
                {"id": f"r{i}", "level": 1 + i % 5, "counter": 3},
            )

        def ratings() -> list[dict[str, Any]]:
            return [e for e in cloud.envelopes() if e["type"] == "rating.submitted"]

        cloud.wait_for(lambda: len({e["id"] for e in ratings()}) >= n, 30, "events over TLS")
        app.send("pad-1", "pad.reset", {"cmd_id": "tls-1", "args": {}})
        [reply] = app.wait_reply("tls-1", 200)
    finally:
        for peer in (app, answering, dev):
            peer.close()
        assert hub.stop() == 0
        cloud.close()
    envs = cloud.envelopes()
    seqs = sorted({int(e["hallseq"]) for e in envs})
    assert seqs == list(range(1, len(seqs) + 1)), "hallseq contiguous from 1"
    got = {e["id"]: e for e in ratings()}
    assert len(got) == n
    for e in got.values():
        assert e["specversion"] == "1.0" and e["hallid"] == "test-hall"
        assert e["source"] == "/halls/test-hall/devices/pad-1" and e["deviceid"] == "pad-1"
    assert sorted(e["data"]["level"] for e in got.values()) == sorted(1 + i % 5 for i in range(n))
    assert reply["data"]["echo"]["cmd_id"] == "tls-1"
    # The hub's retained state went over TLS too, and it really used the TLS listener with
    # the password from the file (anonymous logins are refused there).
    states = [m for m in cloud.messages if m[0] == "halls/test-hall/state"]
    assert states and b'"online"' in states[0][1]
    log = cloud_broker.log_text()
    assert re.search(
        rf"on port {cloud_broker.port}\.\n.*as hall-edge-test-hall .*u'test-hall'", log
    )


def _refused(tmp_path: Path, cfg: Path, attempts: int = 2, timeout: float = 20.0) -> list[str]:
    """Start the hub, wait for `attempts` failed connects, stop it; the cloud log lines."""
    hub = HubProcess(cfg)
    hub.start(wait=False)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = [
                ln for ln in hub.log_text().splitlines() if "WARNING edge.uplink: cloud:" in ln
            ]
            if len(lines) >= attempts:
                break
            time.sleep(0.1)
    finally:
        assert hub.stop() == 0
    text = hub.log_text()
    assert "Traceback" not in text
    assert "cloud: connected" not in text
    assert len(lines) >= attempts, text[-2000:]
    return lines


def test_server_certificate_from_another_ca(
    tmp_path: Path, brokers: tuple[Mosquitto, TlsMosquitto], pki: dict[str, Any]
) -> None:
    hall, cloud_broker = brokers
    url = f"mqtts://127.0.0.3:{cloud_broker.port}"
    lines = _refused(tmp_path, _hub_config(tmp_path, hall, url, pki))
    for line in lines:  # one line per attempt, each with the reason and the file
        assert f"TLS: the server's certificate is not signed by the CA in {pki['ca'].path}" in line
        assert "CERTIFICATE_VERIFY_FAILED" in line and "retrying in" in line


def test_wrong_host_name(
    tmp_path: Path, brokers: tuple[Mosquitto, TlsMosquitto], pki: dict[str, Any]
) -> None:
    hall, cloud_broker = brokers
    # The same broker and certificate, reached by an address the certificate does not name.
    url = f"mqtts://127.0.0.2:{cloud_broker.port}"
    lines = _refused(tmp_path, _hub_config(tmp_path, hall, url, pki))
    assert "TLS: the server's certificate is not issued for 127.0.0.2" in lines[0]
    assert "IP address mismatch" in lines[0]


def test_expired_client_certificate(
    tmp_path: Path, brokers: tuple[Mosquitto, TlsMosquitto], pki: dict[str, Any]
) -> None:
    hall, cloud_broker = brokers
    cfg = _hub_config(tmp_path, hall, cloud_broker.url, pki, client="expired")
    lines = _refused(tmp_path, cfg)
    expired = pki["expired"]
    when = f"{expired.not_after:%Y-%m-%d %H:%M} UTC"
    assert f"client certificate {expired.cert} expired on {when}" in lines[0]
    # ...and the broker's side of it: the TLS alert it sent (on a loaded machine the
    # broker may close the socket before its alert is read: an EOF then stands for it).
    assert "alert certificate expired" in lines[0] or "EOF occurred" in lines[0]
    assert "certificate verify failed" in cloud_broker.log_text()


def test_wrong_password_from_the_file(
    tmp_path: Path, brokers: tuple[Mosquitto, TlsMosquitto], pki: dict[str, Any]
) -> None:
    hall, cloud_broker = brokers
    cfg = _hub_config(tmp_path, hall, cloud_broker.url, pki)
    (tmp_path / "cloud.pass").write_text("not-the-password\n")
    lines = _refused(tmp_path, cfg)
    assert "refused: Not authorized" in lines[0]


def _connect_error(url: str, ca: Path, cert: Path | None, key: Path | None) -> str:
    async def attempt() -> str:
        link = MqttLink(
            LinkOptions(
                url=url,
                client_id="tls-probe",
                ca=str(ca),
                cert=str(cert) if cert else None,
                key=str(key) if key else None,
                username="test-hall",
                password=PASSWORD,
            )
        )
        with pytest.raises(LinkError) as err:
            await link.connect(timeout=5)
        return str(err.value)

    return asyncio.run(attempt())


def test_link_errors_name_the_file(
    brokers: tuple[Mosquitto, TlsMosquitto], pki: dict[str, Any]
) -> None:
    _, cloud_broker = brokers
    ca, client, other = pki["ca"].path, pki["client"], pki["expired"]
    # A key that is not the certificate's: refused before any connection is tried.
    text = _connect_error(cloud_broker.url, ca, client.cert, other.key)
    assert f"TLS: key {other.key} does not belong to certificate {client.cert}" in text
    # No client certificate where the broker requires one.
    text = _connect_error(cloud_broker.url, ca, None, None)
    assert "TLS: the broker requires a client certificate (cert, key)" in text
    # mqtts:// to a plain MQTT port.
    plain = f"mqtts://127.0.0.1:{cloud_broker.plain_port}"
    text = _connect_error(plain, ca, client.cert, client.key)
    assert "does it speak TLS on this port" in text and "\n" not in text, text
