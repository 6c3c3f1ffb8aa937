"""The schema: versioned migrations applied once, month partitions ahead and on demand,
the DEFAULT partition as the last resort; settings from file, environment and options."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloud.partitions import month_of, next_month, partition_name
from cloud.schema import migrations
from cloud.settings import load_settings
from cloud.sink import PostgresSink
from edge.errors import ConfigError
from tests.cloud.conftest import query
from tests.cloud.envelopes import event


def test_partitions_ahead_on_demand_and_default(pg_dsn: str) -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text)

    batch = [
        event("h1", 1, time=at("2027-03-31T23:59:59+00:00")),
        event("h1", 2, time=at("2027-04-01T07:00:00+08:00")),  # still March in UTC
        event("h1", 3, time=at("1970-01-01T00:00:01+00:00")),  # a device clock reset
    ]

    async def run() -> None:
        for _ in range(2):  # a second consumer start migrates nothing and makes nothing
            sink = PostgresSink(pg_dsn)
            await sink.connect()
            await sink.write(batch)
            await sink.close()

    asyncio.run(run())
    this = month_of(datetime.now(UTC))
    names = {
        r["relname"]
        for r in query(
            pg_dsn,
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'events'::regclass",
        )
    }
    assert {partition_name(this), partition_name(next_month(this))} <= names
    assert {"events_y2027m03", "events_default"} <= names and "events_y2027m04" not in names
    rows = query(pg_dsn, "SELECT hallseq, tableoid::regclass::text AS part FROM events")
    assert {r["hallseq"]: r["part"] for r in rows} == {
        1: "events_y2027m03",
        2: "events_y2027m03",
        3: "events_default",
    }
    versions = query(pg_dsn, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert [(r["version"], r["name"]) for r in versions] == [
        (m.version, m.name) for m in migrations()
    ]
    assert query(pg_dsn, "SELECT count(*) AS n FROM events")[0]["n"] == 3  # written twice


def test_settings_options_over_environment_over_file(tmp_path: Path) -> None:
    cfg = tmp_path / "cloud.toml"
    cfg.write_text(
        'broker = "mqtt://file:1883"\ndb = "postgresql://file/db"\nbatch_max = 50\n'
        'shared = false\nhalls = ["h1", "h2"]\n'
    )
    env = {"HALL_CLOUD_BROKER": "mqtts://env:8883", "HALL_CLOUD_DB": "postgresql://env/db"}
    s = load_settings(cfg, {"db": "postgresql://option/db", "protocol": None}, env)
    assert (s.broker, s.db, s.batch_max) == ("mqtts://env:8883", "postgresql://option/db", 50)
    assert s.shared_group is None and s.halls == frozenset({"h1", "h2"})
    # MQTT 3.1.1 (RabbitMQ's plugin): plain subscriptions unless a group is named.
    base = {"broker": "mqtt://x", "db": "postgresql://x/y", "protocol": "3.1.1"}
    assert load_settings(None, base, {}).shared_group is None
    assert load_settings(None, {**base, "shared_group": "g"}, {}).shared_group == "g"
    assert load_settings(None, {**base, "protocol": "5"}, {}).shared_group == "hall-cloud"
    with pytest.raises(ConfigError, match=r"cloud.toml: halls: expected a list of hall ids"):
        cfg.write_text('broker = "mqtt://x"\ndb = "postgresql://x/y"\nhalls = "h1"\n')
        load_settings(cfg, {}, {})
    with pytest.raises(ConfigError, match=r"cloud.toml: colour: expected one of"):
        cfg.write_text('colour = "blue"\n')
        load_settings(cfg, {}, {})
    with pytest.raises(ConfigError, match=r"command line: db: expected a value"):
        load_settings(None, {"broker": "mqtt://x"}, {})
