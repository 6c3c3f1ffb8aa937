"""A real hall-edge hub, its hall broker and a cloud Mosquitto, into PostgreSQL: every
event once, numbered in the hub's journal, no gap; the hall's retained state stored."""

from __future__ import annotations

from pathlib import Path

from edge.store import JournalReader
from tests.cloud.conftest import query
from tests.cloud.consumer import ConsumerProcess
from tests.cloud.test_consumer import count, per_id_counts, wait_until
from tests.support.broker import Mosquitto
from tests.support.hall import DevicePublisher, HubProcess, write_config


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
