"""Fault: the spool's disk budget is reached while the cloud is away.

Two small disks, no root tricks: the byte budget `store.spool_max_bytes`, and SQLite's page
limit (`[store] disk_max_bytes`, a journal file that cannot grow: SQLITE_FULL). The policy of
docs/contract.md §7 must hold in both: the oldest status-like events are dropped first,
business events never; every drop is counted and raises an alert.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.faults.conftest import Scale
from tests.support.audit import audit
from tests.support.cloud_tally import CloudTally
from tests.support.hall import write_config
from tests.support.hubmain import SmallDiskHub
from tests.support.load import Load, MessageMaker

pytestmark = pytest.mark.faults

DEVICES = [
    {"id": "pad-1", "profile": "generic-mqtt"},
    {"id": "cam-1", "profile": "generic-mqtt"},
    {"id": "printer-1", "profile": "generic-mqtt"},
]
BUSINESS = ("rating.submitted", "alert.raised")
STATUS = ("footfall.counted", "printer.status")


def hall_traffic(business_every: int) -> MessageMaker:
    """Mostly status-like traffic (footfall counts, printer status), a business event in every
    `business_every` messages (a rating); `n` numbers them all."""

    def make(i: int) -> tuple[str, dict[str, Any] | bytes]:
        if i % business_every == 0:
            return "hall/devices/pad-1/events/rating/submitted", {
                "id": f"r{i}",
                "n": i,
                "level": 5,
                "counter": 1,
            }
        if i % 2:
            return "hall/devices/cam-1/events/footfall/counted", {
                "n": i,
                "camera": "cam-1",
                "entered": 1,
                "left": 0,
                "occupancy": 12,
            }
        return "hall/devices/printer-1/events/printer/status", {
            "n": i,
            "online": True,
            "paper": "ok",
            "cover_open": False,
        }

    return make


def _spool_contents(db: Path) -> dict[str, int]:
    """What waits in the outbox, by event type (read-only, beside the running hub)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT j.type, COUNT(*) FROM outbox o JOIN journal j USING (seq) GROUP BY j.type"
        ).fetchall()
    finally:
        conn.close()
    return {str(t): int(c) for t, c in rows}


def _spool_alerts(cloud: CloudTally) -> list[dict[str, Any]]:
    return [
        s.data
        for s in cloud.of_type("alert.raised")
        if str(s.data.get("rule", "")).startswith("spool")
    ]


def test_byte_budget_drops_oldest_status_events_never_business(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto, scale: Scale
) -> None:
    budget = 400_000  # bytes of envelopes; about 1,200 events of this traffic
    cfg = write_config(
        tmp_path / "hall.toml",
        hall_broker.url,
        cloud_broker.url,
        devices=DEVICES,
        extra=f"spool_max_bytes = {budget}",
    )
    cloud = CloudTally(cloud_broker.url)
    hub = HubProcess(cfg)
    hub.start()
    n = scale.n(4000)
    load = Load(hall_broker.url, hall_traffic(business_every=5), n)
    try:
        cloud_broker.stop()  # the cloud is away for the whole load: everything is spooled
        load.start().wait(scale.timeout(120))
        hub_alive = hub.proc is not None and hub.proc.poll() is None
        cloud_broker.start()
        ratings = set(range(0, n, 5))
        cloud.wait_for(
            lambda: cloud.ns("rating.submitted") >= ratings, scale.timeout(120), "every rating"
        )
        cloud.wait_for(lambda: bool(_spool_alerts(cloud)), 30, "the spool alert")
    finally:
        load.close()
        rc = hub.stop()
        cloud.close()
    assert hub_alive and rc == 0
    report, view = audit(tmp_path / "hall.db", cloud)
    print(f"\nbyte budget {budget}: {report.line()}; drops {view.drops}")
    missing = report.missing
    dropped = sum(view.drops.values())
    # Business events all arrived; only status-like ones are missing...
    assert not [r for r in missing if r.type in BUSINESS]
    assert {r.type for r in missing} <= set(STATUS)
    # ...as many as the drops table counts, type by type. A status-like event dropped after
    # the uplink read it into its page (500 rows) or put it in flight (`cloud.window`,
    # 1000) still goes out, so the table may count up to that many more than are missing,
    # never fewer.
    per_type = Counter(r.type for r in missing)
    in_reach = 500 + 1000
    assert all(0 <= view.drops.get(t, 0) - per_type[t] <= in_reach for t in STATUS), view.drops
    assert dropped >= n // 2, "the budget really was exceeded"
    # ...and they are among the oldest status-like events.
    status = [r for r in view.rows if r.type in STATUS]
    assert {r.id for r in missing} <= {r.id for r in status[:dropped]}
    # Every drop raised an alert that reached the cloud, with the counts.
    alerts = _spool_alerts(cloud)
    assert sum(sum(a["dropped"].values()) for a in alerts) == dropped
    assert view.outbox == 0


def test_spool_alerts_do_not_crowd_out_the_status_events_they_report(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto, scale: Scale
) -> None:
    budget = 400_000
    cfg = write_config(
        tmp_path / "hall.toml",
        hall_broker.url,
        cloud_broker.url,
        devices=DEVICES,
        # No KPI report: after the hall's closing time its `kpi.daily` would land in the
        # spool between the two looks below.
        extra=f"spool_max_bytes = {budget}\n[kpi]\nenabled = false",
    )
    hub = HubProcess(cfg)
    hub.start()
    n = scale.n(4000)
    load = Load(hall_broker.url, hall_traffic(business_every=5), n)
    try:
        cloud_broker.stop()  # and it stays away
        load.start().wait(scale.timeout(120))
        time.sleep(1.0)  # the last batches and their alerts
        first = _spool_contents(tmp_path / "hall.db")
        time.sleep(2.0)
        second = _spool_contents(tmp_path / "hall.db")
        assert hub.proc is not None and hub.proc.poll() is None
    finally:
        load.close()
        hub.stop()
    print(f"\nspool after the load: {first}; two seconds later: {second}")
    # Nothing arrives and nothing leaves: the spool must be still. With the loop, alerts
    # keep replacing status events until none is left.
    assert second == first
    # The newest status-like events that fit the budget beside the business ones are kept
    # (about 500 here); alerts are a few per burst, not one per dropped event.
    assert sum(second.get(t, 0) for t in STATUS) >= 100, second
    assert second.get("alert.raised", 0) < 100, second


def test_full_disk_drops_status_events_and_holds_business_until_the_cloud_returns(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto, scale: Scale
) -> None:
    pages = 400  # a journal file that cannot grow past 1.6 MB ([store] disk_max_bytes)
    cfg = write_config(tmp_path / "hall.toml", hall_broker.url, cloud_broker.url, devices=DEVICES)
    cloud = CloudTally(cloud_broker.url)
    hub = SmallDiskHub(cfg, max_bytes=pages * 4096)
    hub.start()
    mixed = scale.n(3000)  # mostly status-like: filling the disk drops them
    business = scale.n(3000)  # then ratings only: more than the disk holds
    make_mixed = hall_traffic(business_every=5)

    def make(i: int) -> tuple[str, dict[str, Any] | bytes]:
        if i < mixed:
            return make_mixed(i)
        return "hall/devices/pad-1/events/rating/submitted", {
            "id": f"r{i}",
            "n": i,
            "level": 4,
            "counter": 2,
        }

    n = mixed + business
    load = Load(hall_broker.url, make, n)
    full = "journal full, holding acknowledgements"
    try:
        cloud_broker.stop()
        load.start().wait(scale.timeout(120))
        # Only business events left and the disk full: the hub holds their acknowledgements
        # (the hall broker keeps the messages) and keeps running.
        deadline = time.monotonic() + 30
        while full not in hub.log_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        held = full in hub.log_text()
        hub_alive = hub.proc is not None and hub.proc.poll() is None
        cloud_broker.start()
        ratings = set(range(0, mixed, 5)) | set(range(mixed, n))
        cloud.wait_for(
            lambda: cloud.ns("rating.submitted") >= ratings, scale.timeout(180), "every rating"
        )
        assert hub.proc is not None and hub.proc.poll() is None
    finally:
        load.close()
        rc = hub.stop()
        cloud.close()
    report, view = audit(tmp_path / "hall.db", cloud)
    alerts = _spool_alerts(cloud)
    print(
        f"\nmax_page_count {pages}: {report.line()}; drops {view.drops}; spool alerts {len(alerts)}"
    )
    assert held, "the disk was full of business events at some point"
    assert hub_alive and rc == 0
    # Status-like events were dropped to make room, and nothing else.
    assert set(view.drops) == set(STATUS)
    assert sum(view.drops.values()) >= (mixed * 4 // 5) // 2
    assert {r.type for r in report.missing} <= set(STATUS)
    assert len(report.missing) <= sum(view.drops.values())
    # Every business event reached the cloud once there was room again (checked above for
    # the ratings; the journal's remaining business rows too).
    assert not [r for r in report.missing if r.type in BUSINESS]
    # Drops on a full disk (Journal.make_room) are alerted like budget drops.
    assert sum(sum(a["dropped"].values()) for a in alerts) == sum(view.drops.values())
