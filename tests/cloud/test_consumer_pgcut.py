"""PostgreSQL lost (a TCP proxy cut between the consumer and the server): the consumer
holds its acknowledgements, retries with backoff and resumes; killed while it holds them,
its successor gets every held message from the broker again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.sim.consumer_process import ConsumerProcess
from edge.sim.cutproxy import CutProxy
from edge.sim.device_publisher import DevicePublisher
from edge.sim.mosquitto import Mosquitto
from tests.cloud.conftest import dsn_of
from tests.cloud.envelopes import event
from tests.cloud.test_consumer import count, per_id_counts
from tests.support.waits import wait_until


@pytest.fixture
def proxy() -> Iterator[CutProxy]:
    p = CutProxy(5432)
    yield p
    p.close()


def test_lost_database_holds_acks_and_resumes(
    tmp_path: Path, broker: Mosquitto, pg_db: str, pg_dsn: str, proxy: CutProxy
) -> None:
    c = ConsumerProcess(tmp_path, broker.url, dsn_of(pg_db, proxy.port), "consumer-a")
    c.start()
    pub = DevicePublisher(broker.url, client_id="hall-emulator")
    seq = iter(range(1, 10_000))

    def send(n: int) -> None:
        for _ in range(n):
            pub.publish(*event("h1", next(seq)))

    send(200)
    wait_until(lambda: count(pg_dsn) == 200, 30, "the first 200")

    proxy.cut()
    send(150)
    c.wait_log("holding", timeout=15)
    time.sleep(1.0)
    assert count(pg_dsn) == 200  # nothing stored (pg_dsn is direct, not through the proxy)
    proxy.heal()
    wait_until(lambda: count(pg_dsn) == 350, 30, "the held 150 after the database is back")
    assert "database: connected" in c.text().split("holding")[-1]  # the same process resumed

    mark = len(c.text())
    proxy.cut()
    send(150)
    wait_until(lambda: "holding" in c.text()[mark:], 15, "the consumer to hold a batch")
    time.sleep(0.5)
    assert count(pg_dsn) == 350
    c.kill()  # with a batch in hand, written nowhere, acked to nobody
    proxy.heal()
    c.start()
    wait_until(lambda: count(pg_dsn) == 500, 30, "every event after a kill while holding")

    # SIGTERM while it holds a batch: it stops at once, acknowledging nothing.
    mark = len(c.text())
    proxy.cut()
    send(150)
    wait_until(lambda: "holding" in c.text()[mark:], 15, "the consumer to hold a batch")
    t = time.monotonic()
    c.stop()
    assert time.monotonic() - t < 5 and "unacknowledged" in c.text()
    proxy.heal()
    c.start()
    wait_until(lambda: count(pg_dsn) == 650, 30, "every event after a stop while holding")
    time.sleep(0.3)
    assert count(pg_dsn) == 650 and per_id_counts(pg_dsn) == {1}
    assert count(pg_dsn, "SELECT count(*) AS n FROM gaps") == 0
    pub.close()
    c.stop()
