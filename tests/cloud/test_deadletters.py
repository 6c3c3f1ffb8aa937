"""Bad input goes to dead_letters with the reason, and the consumer goes on."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from cloud.records import DeadLetter, EventRow, parse
from cloud.sink import PostgresSink
from edge.sim.consumer_process import ConsumerProcess
from edge.sim.device_publisher import DevicePublisher
from edge.sim.mosquitto import Mosquitto
from tests.cloud.conftest import query
from tests.cloud.envelopes import event
from tests.cloud.test_consumer import count
from tests.support.hall import ROOT
from tests.support.waits import wait_until


def _reason(topic: str, payload: bytes, max_bytes: int = 10_000) -> str:
    rec = parse(topic, payload, max_bytes=max_bytes, halls=frozenset({"h1", "h2"}))
    assert isinstance(rec, DeadLetter), rec
    return rec.reason


def _env(**change: object) -> bytes:
    body = json.loads(event("h1", 1)[1])
    body.update(change)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


T = "halls/h1/events/rating/submitted"


def test_each_kind_of_bad_input_has_its_reason() -> None:
    assert isinstance(parse(T, _env(), max_bytes=10_000), EventRow)
    assert _reason(T, b"{not json") == "invalid_json"
    assert _reason(T, b"[1, 2]") == "not_an_object"
    assert _reason(T, _env(hallid=None)) == "missing_hallid"
    assert _reason(T, _env(hallid="h2")) == "hall_mismatch"
    assert _reason("halls/h9/events/rating/submitted", _env(hallid="h9")) == "unknown_hall"
    assert _reason(T, _env(data={"x": "y" * 20_000})) == "too_large"
    assert _reason(T, _env(hallseq=0)) == "bad_field"
    assert _reason(T, _env(hallseq="7")) == "bad_field"
    assert _reason(T, _env(time="yesterday")) == "bad_field"
    assert _reason(T, _env(time="2026-12-03T09:00:00")) == "bad_field"  # no offset
    assert _reason(T, _env(id=None)) == "missing_field"
    assert _reason(T, _env(data={"text": "a\u0000b"})) == "bad_field"
    assert _reason("halls/h1/events/queue/status", _env()) == "bad_topic"
    assert _reason("halls/h1/nonsense", b"{}") == "bad_topic"
    assert _reason("halls/h1/state", b'{"state": "sleepy"}') == "bad_field"
    assert _reason("halls/h1/replies/pad-1", b'{"cmd_id": "c1", "code": 42}') == "bad_field"


def test_bad_messages_are_stored_and_the_consumer_goes_on(
    tmp_path: Path, broker: Mosquitto, pg_dsn: str
) -> None:
    c = ConsumerProcess(tmp_path, broker.url, pg_dsn, "consumer-a", "--max-bytes", "4000")
    c.start()
    pub = DevicePublisher(broker.url, client_id="bad-hall")
    pub.publish(T, b"\xff\xfe garbage")
    pub.publish(T, _env(hallid="h2"))
    pub.publish(T, _env(data={"blob": "x" * 5000}))
    pub.publish("halls/h1/events/rating/submitted", _env(hallid=None))
    for s in (1, 2, 3):
        pub.publish(*event("h1", s))
    pub.close()
    wait_until(lambda: count(pg_dsn) == 3, 20, "the good events after the bad ones")
    wait_until(lambda: count(pg_dsn, "SELECT count(*) AS n FROM dead_letters") == 4, 10, "4 dead")
    rows = query(pg_dsn, "SELECT topic, payload, reason FROM dead_letters ORDER BY 1, 3")
    assert sorted(r["reason"] for r in rows) == [
        "hall_mismatch",
        "invalid_json",
        "missing_hallid",
        "too_large",
    ]
    assert {r["topic"] for r in rows} == {T}
    assert b"\xff\xfe garbage" in [bytes(r["payload"]) for r in rows]  # the raw bytes kept
    c.stop()


def test_a_value_postgresql_refuses_is_a_dead_letter_not_a_stall(pg_dsn: str) -> None:
    async def run() -> PostgresSink:
        sink = PostgresSink(pg_dsn)
        await sink.connect()
        # A rule of this database that the envelope check cannot know about.
        await sink._conn.execute(
            "ALTER TABLE events_default ADD CONSTRAINT no_1970 CHECK (time > '1990-01-01')"
        )
        old = datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
        await sink.write([event("h1", 1), event("h1", 2, time=old), event("h1", 3)])
        await sink.close()
        return sink

    sink = asyncio.run(run())
    assert count(pg_dsn) == 2 and sink.stats.dead_letters == 1
    [dead] = query(pg_dsn, "SELECT reason, detail FROM dead_letters")
    assert dead["reason"] == "rejected" and "no_1970" in dead["detail"]


def test_bad_settings_are_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "cloud.toml"
    cfg.write_text(
        'broker = "mqtt://127.0.0.1:1"\ndb = "postgresql://x@127.0.0.1/x"\nbatch_max = 0\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "cloud", "consume", "--config", str(cfg)],
        check=False,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"{cfg}: batch_max: expected an integer >= 1 (got 0)" in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "cloud", "consume", "--broker", "http://x", "--db", "postgresql://"],
        check=False,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 2 and "command line: broker: expected an mqtt://" in out.stderr
    missing = "postgresql://postgres@127.0.0.1:5432/hallcloud_no_such_database"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cloud",
            "consume",
            "--broker",
            "mqtt://127.0.0.1:1",
            "--db",
            missing,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "hallcloud_no_such_database" in out.stderr and "InvalidCatalogName" in out.stderr
