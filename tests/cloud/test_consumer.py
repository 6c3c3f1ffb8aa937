"""The consumer through a real Mosquitto into PostgreSQL: exactly once, across a SIGKILL
mid-batch, split between two consumers of one shared subscription."""

from __future__ import annotations

import time
from pathlib import Path

from edge.sim.consumer_process import ConsumerProcess
from edge.sim.device_publisher import DevicePublisher
from edge.sim.mosquitto import Mosquitto
from tests.cloud.conftest import query
from tests.cloud.envelopes import event
from tests.support.waits import wait_until


def count(dsn: str, sql: str = "SELECT count(*) AS n FROM events") -> int:
    return int(query(dsn, sql)[0]["n"])


def per_id_counts(dsn: str) -> set[int]:
    rows = query(dsn, "SELECT count(*) AS n FROM events GROUP BY hallid, id")
    return {r["n"] for r in rows}


def publish(broker: Mosquitto, halls: int, per_hall: int) -> None:
    pub = DevicePublisher(broker.url, client_id="halls-emulator", window=200)
    for s in range(1, per_hall + 1):
        for h in range(halls):
            topic, body = event(f"hall-{h:02d}", s)
            pub.publish(topic, body)
    pub.close()


def test_sigkill_mid_batch_loses_and_duplicates_nothing(
    tmp_path: Path, broker: Mosquitto, pg_dsn: str
) -> None:
    c = ConsumerProcess(tmp_path, broker.url, pg_dsn, "consumer-a", "--batch-max", "200")
    c.start()
    total = 4 * 1500
    publish(broker, 4, 1500)
    wait_until(lambda: count(pg_dsn) > 500, 30, "the first batches")
    c.kill()
    at_kill = count(pg_dsn)
    assert at_kill < total  # killed while it still had work
    c.start()
    wait_until(lambda: count(pg_dsn) >= total, 60, "every event")
    time.sleep(0.5)  # anything redelivered after the restart has been written by now
    assert count(pg_dsn) == total == count(pg_dsn, "SELECT count(*) AS n FROM event_ids")
    assert per_id_counts(pg_dsn) == {1}
    assert count(pg_dsn, "SELECT count(*) AS n FROM gaps WHERE closed_at IS NULL") == 0
    c.stop()


def test_two_consumers_of_one_shared_group_split_the_load(
    tmp_path: Path, broker: Mosquitto, pg_dsn: str
) -> None:
    a = ConsumerProcess(tmp_path, broker.url, pg_dsn, "consumer-a", "--shared-group", "g")
    b = ConsumerProcess(tmp_path, broker.url, pg_dsn, "consumer-b", "--shared-group", "g")
    a.start()
    b.start()
    total = 4 * 500
    publish(broker, 4, 500)
    wait_until(lambda: count(pg_dsn) >= total, 60, "every event")
    time.sleep(0.3)
    took_a, took_b = a.stop(), b.stop()
    assert took_a > 0 and took_b > 0, (took_a, took_b)
    # Each event went to one of them (the state topics, unshared, are not in these counts).
    assert took_a + took_b == total
    assert count(pg_dsn) == total and per_id_counts(pg_dsn) == {1}
    [j] = query(pg_dsn, "SELECT count(*) AS n, sum(max_hallseq) AS top FROM journals")
    assert (j["n"], j["top"]) == (4, 4 * 500)
    assert count(pg_dsn, "SELECT count(*) AS n FROM gaps") == 0


def test_mqtt_311_without_shared_subscriptions(
    tmp_path: Path, broker: Mosquitto, pg_dsn: str
) -> None:
    # What a broker with MQTT 3.1.1 only (RabbitMQ 3.10's plugin) gets from the consumer.
    c = ConsumerProcess(
        tmp_path, broker.url, pg_dsn, "consumer-311", "--protocol", "3.1.1", "--no-shared"
    )
    c.start()
    publish(broker, 2, 100)
    wait_until(lambda: count(pg_dsn) == 200, 30, "200 events over MQTT 3.1.1")
    c.kill()  # its persistent 3.1.1 session keeps what arrives meanwhile
    publish(broker, 2, 100)  # the same envelopes' numbers again, fresh ids: 200 more
    c.start()
    wait_until(lambda: count(pg_dsn) == 400, 30, "the 200 queued while it was down")
    assert per_id_counts(pg_dsn) == {1}
    c.stop()
