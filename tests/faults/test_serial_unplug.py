"""Fault: a serial device is unplugged and plugged back in mid-stream (pty closed, recreated).

The ticket machine keeps requests in flight and resends each one until the hub's ACK,
which the hub sends only after the journal commit; an unplug loses whatever was on the
wire, so the resends after the replug must fill every gap, and the device id (request id)
keeps a resent request from being journaled twice.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.faults.conftest import Scale
from tests.support.audit import JournalView, assert_all_delivered, audit
from tests.support.cloud_tally import CloudTally
from tests.support.hall import PAD, write_config
from tests.support.load import Load, rating
from tests.support.ptys import TicketLine

pytestmark = pytest.mark.faults


def serial_config(tmp_path: Path, hall_url: str, cloud_url: str, port: Path, **config: Any) -> Path:
    """The test hall with a serial ticket machine, kiosk-1 on `port`, beside its MQTT pad."""
    kiosk = {"id": "kiosk-1", "profile": "ticket-machine-serial", "settings": {"port": str(port)}}
    return write_config(tmp_path / "hall.toml", hall_url, cloud_url, [PAD, kiosk], **config)


class SerialHall:
    """That hall running: the machine on its cable, the hub, the cloud's tally."""

    def __init__(
        self, tmp_path: Path, hall_url: str, cloud_url: str, link: Path, **config: Any
    ) -> None:
        self.db = tmp_path / "hall.db"
        self.line = TicketLine(link)
        self.cloud = CloudTally(cloud_url)
        self.rc: int | None = None
        # `hall-edge run`: it builds the serial driver from the profile.
        self.hub = HubProcess(serial_config(tmp_path, hall_url, cloud_url, link, **config))
        self.hub.start()

    def close(self, *peers: Load) -> None:
        """The peers closed, the hub stopped, the machine and the tally closed."""
        for peer in peers:
            peer.close()
        self.rc = self.hub.stop()
        self.line.close()
        self.cloud.close()

    def audit(self, run: str) -> JournalView:
        """After `close`: the hub stopped cleanly and every journaled event reached the
        cloud (the figures printed under `run` first)."""
        assert self.rc == 0
        report, view = audit(self.db, self.cloud)
        print(f"\n{run}: {report.line()}; {len(view.dead)} dead letters")
        assert_all_delivered(report, view)
        return view


def test_serial_device_unplugged_and_replugged_mid_stream(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto, scale: Scale
) -> None:
    link = tmp_path / "by-id" / "usb-Prolific_Technology_Inc._USB-Serial_Controller-if00-port0"
    hall = SerialHall(tmp_path, hall_broker.url, cloud_broker.url, link)
    line, cloud, hub = hall.line, hall.cloud, hall.hub
    n = scale.n(2000)
    unplugs = 3 * scale.factor
    mqtt = Load(
        hall_broker.url, rating(), scale.n(3000), rate=300.0
    ).start()  # the rest of the hall
    try:
        ids = line.request(n)
        for k in range(unplugs):
            line.wait_acked((k + 1) * n // (unplugs + 1), scale.timeout(60))
            line.unplug()
            time.sleep(1.5)  # the installer fumbles with the cable
            line.plug()
        cloud.wait_for(line.settled, scale.timeout(60), "every request acknowledged")
        cloud.wait_for(
            lambda: cloud.request_ids() >= set(ids), scale.timeout(60), "every request in the cloud"
        )
        mqtt.wait(scale.timeout(60))
        cloud.wait_for(
            lambda: cloud.ns("rating.submitted") >= set(range(mqtt.stop_i)),
            60,
            "the MQTT devices' events",
        )
        assert hub.proc is not None and hub.proc.poll() is None, "the hub must ride out the unplugs"
        cloud.wait_for(
            lambda: cloud.device_states("kiosk-1")[-1:] == ["online"], 10, "kiosk back online"
        )
        device_states = cloud.device_states("kiosk-1")
    finally:
        hall.close(mqtt)
    view = hall.audit(f"{unplugs} unplugs")
    print(
        f"  the machine resent {line.resends} lines; {[(d.reason, d.raw[:20]) for d in view.dead]}"
    )
    assert set(ids) == line.acked, "every request was acknowledged, after its commit"
    assert view.types()["queue.ticket.requested"] == n, "a resent request is journaled once"
    assert line.resends > 0, "the unplugs did cut requests off"
    # The unplugs are visible: device.offline / device.online events and the cloud's state.
    offline = [s for s in cloud.of_type("device.offline")]
    online = [s for s in cloud.of_type("device.online")]
    assert len(offline) >= unplugs and len(online) >= unplugs + 1
    assert device_states.count("offline") >= unplugs
    # Only a line cut mid-frame may leave garbage behind; never a whole request.
    assert all(
        d.reason in ("truncated", "no_rule: no frames rule of the profile matches")
        for d in view.dead
    ), view.dead
