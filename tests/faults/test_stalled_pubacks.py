"""Fault: the cloud broker keeps the connection and takes the messages but never acknowledges.

A proxy between the hub and the cloud broker goes silent towards the hub (no PUBACK, no
PINGRESP) while the hub's messages still reach the broker. The hub must notice within
`cloud.puback_timeout_s`, drop the connection, reconnect and resend everything that was
not acknowledged: nothing is lost, the copies the broker did get are counted duplicates.
"""

from __future__ import annotations

import time
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

PUBACK_TIMEOUT_S = 2.0


def test_stalled_pubacks_are_noticed_and_nothing_is_lost(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto, scale: Scale
) -> None:
    proxy = StallProxy(cloud_broker.port)
    cfg = write_config(
        tmp_path / "hall.toml",
        hall_broker.url,
        proxy.url,
        tables={"cloud": {"puback_timeout_s": PUBACK_TIMEOUT_S}},
    )
    cloud = CloudTally(cloud_broker.url)
    metrics = MetricsWatch(hall_broker.url)
    hub = HubProcess(cfg)
    hub.start()
    n = scale.n(8000)
    stalls = 2 * scale.factor  # PUBACKs stop mid-stream
    load = Load(hall_broker.url, rating(), n, rate=1000.0).start()
    noticed: list[float] = []

    def flowing() -> None:
        mark = cloud.unique()
        cloud.wait_for(lambda: cloud.unique() >= mark + 300, 30, "events flowing to the cloud")

    try:
        for _ in range(stalls):
            flowing()
            before = proxy.connections
            assert proxy.stall() == 1, "one cloud connection to stall"
            t0 = time.monotonic()
            proxy.wait_connections(before, 30)
            noticed.append(time.monotonic() - t0)
        # Last: the stall again, and the broker also silent on the next connection from its
        # first byte (TCP accepted, no CONNACK): the hub's connect times out and it tries again.
        flowing()
        before = proxy.connections
        proxy.stall_next(1)
        proxy.stall()
        t0 = time.monotonic()
        proxy.wait_connections(before, 30)  # the silent one
        proxy.wait_connections(before + 1, 30)  # the next, after the connect timeout
        silent_recovery = time.monotonic() - t0
        flowing()
        load.wait(scale.timeout(120))
        cloud.wait_for(
            lambda: cloud.ns("rating.submitted") >= set(range(n)),
            scale.timeout(120),
            "every rating",
        )
        m = metrics.wait_for(
            lambda m: m["cloud"]["stalls"] == stalls + 1 and m["backlog"] == 0,
            15,
            "stalls counted, backlog drained",
        )
        assert hub.proc is not None and hub.proc.poll() is None
    finally:
        load.close()
        rc = hub.stop()
        metrics.close()
        cloud.close()
        proxy.close()
    assert rc == 0
    report, view = audit(tmp_path / "hall.db", cloud)
    print(
        f"\n{stalls} stalls noticed after {', '.join(f'{t:.1f}' for t in noticed)} s, "
        f"a stall plus a silent connect recovered after {silent_recovery:.1f} s: {report.line()}; "
        f"{proxy.swallowed} bytes from the broker swallowed"
    )
    assert_all_delivered(report, view)
    assert view.types()["rating.submitted"] == n
    # Each stall was noticed within the PUBACK timeout (plus the loop's 0.5 s wake-up and a
    # reconnect), and counted; the silent connection cost one connect timeout (10 s).
    assert len(noticed) == stalls and max(noticed) < PUBACK_TIMEOUT_S + 3.0, noticed
    assert 10.0 <= silent_recovery < PUBACK_TIMEOUT_S + 10.0 + 5.0, silent_recovery
    assert m["cloud"]["stalls"] == stalls + 1 and m["cloud"]["connects"] == stalls + 2
    # (the hub's last line, its final metrics, quotes the last error again: not counted)
    log = "\n".join(ln for ln in hub.log_text().splitlines() if "hub stopped: " not in ln)
    assert log.count("no PUBACK for") == stalls + 1 and log.count("cannot connect") == 1
    # The broker got messages it could not acknowledge: they came again, as duplicates.
    assert proxy.swallowed > 0 and report.duplicates > 0
