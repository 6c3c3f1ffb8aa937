"""Fault: the hub is SIGKILLed again and again during load (a power cut; no shutdown code)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from edge.sim.mosquitto import Mosquitto
from tests.faults.conftest import Scale
from tests.support.audit import assert_all_delivered, audit
from tests.support.cloud_tally import CloudTally
from tests.support.hall import started_hub
from tests.support.load import Load, rating

pytestmark = pytest.mark.faults


def test_hub_sigkilled_repeatedly_during_load(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto, scale: Scale
) -> None:
    cloud = CloudTally(cloud_broker.url)
    hub = started_hub(tmp_path, hall_broker.url, cloud_broker.url)
    n = scale.n(8000)
    kills = 5 * scale.factor
    rng = random.Random(20261127)
    load = Load(hall_broker.url, rating(), n, rate=1500.0).start()
    restarts_ok = 0
    try:
        for k in range(kills):
            load.wait_sent((k + 1) * n // (kills + 1), scale.timeout(60))
            # Some kills land mid-batch, one right after start-up (replaying its backlog).
            time.sleep(rng.uniform(0.0, 0.3))
            hub.kill()
            hub.start(wait=(k % 2 == 0))
            if k % 2 == 1:
                time.sleep(rng.uniform(0.3, 0.8))  # killed again before it is ready
                hub.kill()
                hub.start()
            restarts_ok += 1
        load.wait(scale.timeout(120))
        cloud.wait_for(
            lambda: cloud.ns("rating.submitted") >= set(range(n)),
            scale.timeout(120),
            "every rating",
        )
        assert hub.proc is not None and hub.proc.poll() is None
        states = cloud.hall_states()
    finally:
        load.close()
        rc = hub.stop()
        cloud.close()
    assert rc == 0, "a clean stop after all the kills"
    report, view = audit(tmp_path / "hall.db", cloud)
    print(f"\n{hub.runs - 1} SIGKILLs: {report.line()}")
    assert restarts_ok == kills
    assert_all_delivered(report, view)
    assert view.types()["rating.submitted"] == n, "a device id is journaled once across kills"
    # Every journaled event kept one hallseq: duplicates are copies of the same envelope.
    assert len({s.seq for s in cloud.first.values()}) == len(cloud.first)
    # The cloud saw the hub go away (last will) and come back.
    assert states.count("offline") >= kills // 2 and states[-1] == "online", states
