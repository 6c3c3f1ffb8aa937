"""Fault: a thin cloud link, slower than the hall, for longer than the live queue holds.

No outage, no reconnect: the cloud broker is reachable all along, only slow (a proxy
limits the bytes towards it). Nothing may be lost; since there was no outage no event is
marked `resent` (docs/contract.md §7: "`resent` marks events delivered from the backlog, and
only those") and none is sent twice.

Found by bench/pipeline.py: past `Uplink.LIVE_LIMIT` (then 20,000) events in memory the
uplink falls back to the outbox on disk. Up to 34830f2 it then sent them as backlog:
marked `resent`, paced at `cloud.drain_rate` (which capped sustained throughput at
2,000 events/s) and with duplicates; 909a2fa sends them at once and unmarked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.faults.conftest import Scale
from tests.support.audit import assert_all_delivered, audit
from tests.support.cloud_tally import CloudTally
from tests.support.hall import write_config
from tests.support.load import Load, rating
from tests.support.metrics import MetricsWatch
from tests.support.proxy import StallProxy

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def test_a_slow_cloud_link_loses_nothing_resends_nothing_marks_nothing_resent(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto, scale: Scale
) -> None:
    proxy = StallProxy(cloud_broker.port)
    cfg = write_config(tmp_path / "hall.toml", hall_broker.url, proxy.url)
    cloud = CloudTally(cloud_broker.url)
    metrics = MetricsWatch(hall_broker.url)
    hub = HubProcess(cfg)
    hub.start()
    n = scale.n(25_000)  # more than the live queue holds while the link is slow
    try:
        proxy.throttle(100_000)  # bytes/s: about 300 envelopes/s, a tenth of the hall's pace
        load = Load(hall_broker.url, rating(), n).start()
        load.wait(scale.timeout(120))
        load.close()
        proxy.throttle(None)
        cloud.wait_for(
            lambda: cloud.ns("rating.submitted") >= set(range(n)),
            scale.timeout(120),
            "every rating",
        )
        m = metrics.wait_for(lambda m: m["backlog"] == 0, 15, "backlog drained")
        assert hub.proc is not None and hub.proc.poll() is None
    finally:
        rc = hub.stop()
        metrics.close()
        cloud.close()
        proxy.close()
    assert rc == 0
    report, view = audit(tmp_path / "hall.db", cloud)
    with cloud.lock:
        resent = sum(1 for s in cloud.first.values() if s.resent)
    print(f"\nslow cloud link: {report.line()}; {resent} marked resent without an outage")
    assert_all_delivered(report, view)
    assert m["cloud"]["connects"] == 1, "no outage, no reconnect"
    assert resent == 0, f"{resent} of {n} events marked resent without an outage"
    assert report.duplicates == 0, "a slow link is no reason to send anything twice"
