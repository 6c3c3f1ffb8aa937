"""Commands across a hub SIGKILL (a run in flight gets a final reply after the restart) and
argument checks before the wait for an offline device — real hub process, real brokers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.support.cloud import CloudClient, FakeDevice
from tests.support.hall import write_config


def _retry_until(cloud: CloudClient, cmd_id: str, code: int) -> dict[str, Any]:
    for _ in range(15):
        cloud.send("silent", "lamp.on", {"cmd_id": cmd_id, "args": {}})
        try:
            return cloud.wait_reply(cmd_id, code, timeout=1.5)[0]
        except AssertionError:
            continue
    raise AssertionError(f"no {code} for {cmd_id} after the restart: {cloud.replies}")


def test_command_in_flight_at_a_sigkill_is_finished_after_the_restart(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    cfg = write_config(
        tmp_path / "hall.toml",
        hall_broker.url,
        cloud_broker.url,
        [{"id": "silent", "profile": "generic-mqtt"}],
        extra="[commands]\ntimeout_s = 60\n",
    )
    hub = HubProcess(cfg)
    hub.start()
    silent = FakeDevice(hall_broker.url, "silent", None)
    cloud = CloudClient(cloud_broker.url)
    try:
        # Sent again with the same cmd_id until the device has it, as the cloud does (§2):
        # on a busy machine the first may come before the new hub's cloud subscription.
        deadline = time.monotonic() + 30
        while not silent.received and time.monotonic() < deadline:
            cloud.send("silent", "lamp.on", {"cmd_id": "c-flight", "args": {}})
            sent = time.monotonic()
            while not silent.received and time.monotonic() < sent + 2.0:
                time.sleep(0.02)
        assert silent.received, "the device got the command"
        cloud.send("silent", "lamp.on", {"cmd_id": "c-flight", "args": {}})
        cloud.wait_reply("c-flight", 202)  # still running: "already in progress"
        hub.kill()
        hub.start()
        # The cloud session is clean: a command published before the restarted hub has
        # subscribed is not delivered, so the cloud retries with the same cmd_id (§2).
        final = _retry_until(cloud, "c-flight", 408)
        assert "restarted" in final["msg"]
        # Final for good: the next retry gets the same reply, and nothing is sent again.
        n = len(cloud.wait_reply("c-flight", 408))
        cloud.send("silent", "lamp.on", {"cmd_id": "c-flight", "args": {}})
        assert len(cloud.wait_reply("c-flight", 408, count=n + 1)) == n + 1
        assert len(silent.received) == 1
        assert "1 commands in flight when the hub stopped" in hub.log_text()
    finally:
        silent.close()
        cloud.close()
        hub.stop()


def test_bad_arguments_to_an_offline_device_get_400_at_once(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    cfg = write_config(
        tmp_path / "hall.toml",
        hall_broker.url,
        cloud_broker.url,
        [{"id": "robot-1", "profile": "guide-robot-mqtt", "settings.serial": "GB7"}],
        extra="[commands]\noffline_wait_s = 30\n",
    )
    hub = HubProcess(cfg)
    hub.start()
    robot = DevicePublisher(hall_broker.url, client_id="robot-1")
    cloud = CloudClient(cloud_broker.url)
    try:
        robot.publish("guidebot/GB7/online", b"0", retain=True)
        time.sleep(0.5)  # the hub has seen it go offline
        t0 = time.monotonic()
        cloud.send("robot-1", "robot.speak", {"cmd_id": "c-bad", "args": {"text": "x" * 201}})
        [reply] = cloud.wait_reply("c-bad", None)
        assert reply["code"] == 400, reply
        assert "text" in reply["msg"]
        assert time.monotonic() - t0 < 5
        # Good arguments still wait for the device (202, interim).
        cloud.send("robot-1", "robot.speak", {"cmd_id": "c-good", "args": {"text": "您好"}})
        [interim] = cloud.wait_reply("c-good", None)
        assert interim["code"] == 202, interim
    finally:
        robot.close()
        cloud.close()
        hub.stop()
