"""A serial unplug is one WARNING line naming the device and its port, then the reconnect:
no asyncio "Fatal write error" traceback (the log of a real hub process)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.faults.test_serial_unplug import serial_config
from tests.support.ptys import TicketLine

pytestmark = pytest.mark.faults


def test_unplug_logs_one_warning_then_the_reconnect(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    link = tmp_path / "by-id" / "usb-Prolific-if00-port0"
    line = TicketLine(link, retry_s=0.2)
    cfg = serial_config(tmp_path, hall_broker.url, cloud_broker.url, link)
    hub = HubProcess(cfg)
    hub.start()
    try:
        line.request(400)  # a stream, so that the hub is writing ACKs when the cable goes
        line.wait_acked(50, 20)
        line.unplug()
        time.sleep(1.5)
        line.plug()
        line.wait_acked(400, 30)
    finally:
        rc = hub.stop()
        line.close()
    assert rc == 0
    run = hub.log_text()
    lines = run.splitlines()
    assert "Traceback" not in run and "Fatal write error" not in run, run
    assert not [x for x in lines if " ERROR " in x or " CRITICAL " in x], run
    lost = [x for x in lines if " WARNING " in x and "kiosk-1" in x and "lost" in x]
    assert len(lost) == 1, run
    assert str(link) in lost[0], lost
    after = lines[lines.index(lost[0]) :]
    assert any("kiosk-1" in x and "open" in x for x in after), run
