"""A real hall-edge hub, its hall broker and a cloud Mosquitto, into PostgreSQL: every
event once, numbered in the hub's journal, no gap; the hall's retained state stored."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from edge.sim.consumer_process import ConsumerProcess
from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from edge.store import JournalReader
from tests.cloud.conftest import query
from tests.cloud.test_consumer import count, per_id_counts
from tests.support.hall import write_config
from tests.support.waits import wait_until


def test_hub_events_reach_postgres_exactly_once(
    tmp_path: Path, broker: Mosquitto, pg_dsn: str
) -> None:
    hall_broker = Mosquitto(tmp_path / "hall-broker")
    hall_broker.start()
    cfg = write_config(tmp_path / "hall.toml", hall_broker.url, broker.url, hall_id="sz-01")
    hub = HubProcess(cfg)
    consumer = ConsumerProcess(tmp_path, broker.url, pg_dsn, "consumer-a")
    try:
        consumer.start()
        hub.start()
        pad = DevicePublisher(hall_broker.url)
        for i in range(300):
            pad.publish(
                "hall/devices/pad-1/events/rating/submitted",
                {"id": f"r-{i}", "level": 1 + i % 5, "counter": 3},
            )
        pad.close()
        ratings = "SELECT count(*) AS n FROM events WHERE type = 'rating.submitted'"
        wait_until(lambda: count(pg_dsn, ratings) == 300, 60, "300 ratings")
        wait_until(lambda: query(pg_dsn, "SELECT * FROM hall_state") != [], 10, "hall state")
        identity = JournalReader(tmp_path / "hall.db").identity()
        rows = query(pg_dsn, "SELECT hallid, halljournal, hallseq FROM events")
        assert {(r["hallid"], r["halljournal"]) for r in rows} == {("sz-01", identity)}
        seqs = sorted(r["hallseq"] for r in rows)
        assert seqs == list(range(1, len(seqs) + 1))  # the journal's numbers, no hole
        assert per_id_counts(pg_dsn) == {1}
        assert count(pg_dsn, "SELECT count(*) AS n FROM gaps") == 0
        [state] = query(pg_dsn, "SELECT hallid, state, version FROM hall_state")
        assert (state["hallid"], state["state"]) == ("sz-01", "online") and state["version"]
        levels = query(
            pg_dsn,
            "SELECT (data->>'level')::int AS level, count(*) AS n FROM events"
            " WHERE type = 'rating.submitted' GROUP BY 1 ORDER BY 1",
        )
        assert [(r["level"], r["n"]) for r in levels] == [(lv, 60) for lv in range(1, 6)]
    finally:
        hub.stop()
        consumer.stop()
        hall_broker.stop()


def test_hub_backlog_after_a_cloud_broker_restart(
    tmp_path: Path, broker: Mosquitto, pg_dsn: str
) -> None:
    """The cloud broker restarts while the hub journals on; the hub drains its backlog
    (paced, interleaved with live events) as soon as the broker is back: every event
    arrives once, the gaps the interleaving opens all close. Plain subscriptions: Mosquitto
    2.0 does not keep a `$share` subscription across its restart (docs/cloud.md, "Scaling
    out")."""
    hall_broker = Mosquitto(tmp_path / "hall-broker")
    hall_broker.start()
    cfg = write_config(tmp_path / "hall.toml", hall_broker.url, broker.url, hall_id="sz-02")
    cfg.write_text(cfg.read_text().replace("[cloud]\n", "[cloud]\ndrain_rate = 300\n"))
    hub = HubProcess(cfg)
    consumer = ConsumerProcess(tmp_path, broker.url, pg_dsn, "consumer-a", "--no-shared")
    pad = DevicePublisher(hall_broker.url)

    def rate(prefix: str, n: int, pause: float = 0.0) -> None:
        for i in range(n):
            pad.publish("hall/devices/pad-1/events/rating/submitted", {"id": f"{prefix}{i}"})
            time.sleep(pause)

    ratings = "SELECT count(*) AS n FROM events WHERE type = 'rating.submitted'"
    try:
        consumer.start()
        hub.start()
        rate("a", 50)
        wait_until(lambda: count(pg_dsn, ratings) == 50, 30, "the first 50")
        broker.stop()  # the cloud broker goes away; the hub journals on
        rate("b", 600)
        time.sleep(1.0)
        broker.start()
        wait_until(lambda: hub.log_text().count("cloud: connected") >= 2, 30, "hub back")
        rate("c", 100, 0.005)  # live events while the backlog drains
        wait_until(lambda: count(pg_dsn, ratings) == 750, 60, "all 750 ratings")
        wait_until(lambda: outbox_empty(tmp_path / "hall.db"), 30, "the hub's outbox drained")
        journal = JournalReader(tmp_path / "hall.db").last_seq()
        wait_until(
            lambda: count(pg_dsn, "SELECT max(max_hallseq) AS n FROM journals") == journal,
            30,
            "the last event",
        )
        seqs = sorted(r["hallseq"] for r in query(pg_dsn, "SELECT hallseq FROM events"))
        assert seqs == list(range(1, journal + 1)) and per_id_counts(pg_dsn) == {1}
        assert count(pg_dsn, "SELECT count(*) AS n FROM gaps WHERE closed_at IS NULL") == 0
        assert count(pg_dsn, "SELECT count(*) AS n FROM events WHERE resent") >= 500
    finally:
        pad.close()
        hub.stop()
        consumer.stop()
        hall_broker.stop()


def outbox_empty(db: Path) -> bool:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0]) == 0
    finally:
        conn.close()
