"""Fault: the hall broker restarts during load; its persistent session redelivers to the hub.

Two restarts (more in a soak). For every second one the hub is frozen (SIGSTOP) for a
moment first, so the broker holds a queue of messages it has already acknowledged to the
devices: the devices will never send those again, only the broker's persistent session
for the hub can deliver them, across the restart, and the hub acknowledges them only once
they are journaled.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from edge.sim.mosquitto import Mosquitto
from tests.faults.conftest import Scale
from tests.support.audit import assert_all_delivered, audit
from tests.support.cloud_tally import CloudTally
from tests.support.hall import started_hub
from tests.support.load import Load, rating
from tests.support.metrics import MetricsWatch

pytestmark = pytest.mark.faults


def test_hall_broker_restarts_and_its_session_redelivers(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto, scale: Scale
) -> None:
    cloud = CloudTally(cloud_broker.url)
    hub = started_hub(tmp_path, hall_broker.url, cloud_broker.url)
    assert hub.proc is not None
    n = scale.n(8000)
    rate = 1000.0
    load = Load(hall_broker.url, rating(), n, rate=rate).start()
    restarts = 2 * scale.factor
    queued_for_hub: list[int] = []
    try:
        for k in range(restarts):
            load.wait_sent((k + 1) * n // (restarts + 1), scale.timeout(60))
            if k % 2 == 0:
                hall_broker.restart()  # plain restart under load
                continue
            # Freeze the hub so the broker queues for it, then restart the broker under it.
            os.kill(hub.proc.pid, signal.SIGSTOP)
            try:
                mark = load.sent
                time.sleep(1.0)
                queued_for_hub.append(load.sent - mark)  # acked to the device, not to the hub
                hall_broker.restart()
            finally:
                os.kill(hub.proc.pid, signal.SIGCONT)
        load.wait(scale.timeout(120))
        cloud.wait_for(
            lambda: cloud.ns("rating.submitted") >= set(range(n)),
            scale.timeout(120),
            "every rating",
        )
        assert hub.proc.poll() is None, "the hub must ride out the broker restarts"
        metrics = MetricsWatch(hall_broker.url)
        m = metrics.wait_for(
            lambda m: m["hall"]["connected"] and m["backlog"] == 0, 15, "hall link back"
        )
        metrics.close()
    finally:
        load.close()
        rc = hub.stop()
        cloud.close()
    assert rc == 0
    log = hub.log_text()
    report, view = audit(tmp_path / "hall.db", cloud)
    print(
        f"\n{restarts} hall broker restarts: {report.line()}; {queued_for_hub} messages queued "
        f"for the frozen hub; {m['duplicates']} repeats dropped by device id"
    )
    assert_all_delivered(report, view)
    assert view.types()["rating.submitted"] == n, "a redelivered message is journaled once"
    assert min(queued_for_hub) >= rate / 2, "the broker held a queue for the hub at the restart"
    # The hub reconnected after every restart and found its session kept each time.
    sessions = re.findall(r"hall broker: connected to \S+ \(session present: (\w+)\)", log)
    assert sessions[1:] == ["True"] * restarts, sessions
    assert log.count("hall broker: connection lost") == restarts
