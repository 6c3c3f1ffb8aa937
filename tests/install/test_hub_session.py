"""A real hub on the synced broker: it runs through a reload, and its client id is its own."""

from __future__ import annotations

import time
from pathlib import Path

from edge.config import load
from edge.install.accounts import read_secrets, reload_broker, sync
from edge.install.layout import Layout
from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.install.conftest import Client, staged_config
from tests.support.hall import Collector

PADS = [{"id": "pad-1", "profile": "generic-mqtt"}, {"id": "pad-2", "profile": "generic-mqtt"}]


def ratings(cloud: Collector) -> set[int]:
    return {int(e["hallseq"]) for e in cloud.envelopes() if e["type"] == "rating.submitted"}


def test_hub_keeps_its_session_through_reload_and_a_client_id_thief(
    tmp_path: Path,
    layout: Layout,
    staged_broker: Mosquitto,
    cloud_broker: Mosquitto,
    clients: list[Client],
) -> None:
    cfg_path = staged_config(layout.root / "hall.toml", staged_broker.url, cloud_broker.url, PADS)
    sync(load(cfg_path), layout)
    secret = read_secrets(layout.broker_secrets)
    staged_broker.start()
    cloud = Collector(cloud_broker.url, ["halls/test-hall/events/#"], client_id="acct-cloud")
    hub = HubProcess(cfg_path)
    hub.start()
    pad = DevicePublisher(staged_broker.url, client_id="pad-1")
    pad.client.username_pw_set("pad-1", secret["pad-1"])
    pad.client.reconnect()
    n = 300
    try:
        for i in range(n):
            pad.publish("hall/devices/pad-1/events/rating/submitted", {"id": f"r{i}", "level": 5})
            if i == 100:
                # A device logs in with the hub's documented client id, clean session: on a
                # broker without the binding this ends the hub's connection and its session.
                thief = Client(
                    staged_broker.port, "pad-2", secret["pad-2"], client_id="hall-edge-test-hall"
                )
                clients.append(thief)
                assert thief.connected()
            if i == 200:
                # A sync that adds an account, and the broker's reload, mid-stream.
                more = [*PADS, {"id": "pad-3", "profile": "generic-mqtt"}]
                staged_config(cfg_path, staged_broker.url, cloud_broker.url, more)
                assert sync(load(cfg_path), layout).created == ["pad-3"]
                assert "SIGHUP" in reload_broker(layout)
            time.sleep(0.002)
        cloud.wait_for(lambda: len(ratings(cloud)) >= n, 30, "every event in the cloud")
        pad3 = Client(staged_broker.port, "pad-3", read_secrets(layout.broker_secrets)["pad-3"])
        clients.append(pad3)
        assert pad3.connected(), "the new account works after the reload"
        assert hub.proc is not None and hub.proc.poll() is None
    finally:
        pad.close()
        code = hub.stop()
        cloud.close()
    log = hub.log_text()
    assert code == 0
    assert "hall broker: connection lost" not in log, log[-2000:]
    assert log.count("hall broker: connected") == 1
    assert len(ratings(cloud)) == n, "no event lost, none twice"
