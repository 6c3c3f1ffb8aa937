"""The other tables the sink keeps: alerts from `alert.raised`, command replies (a final
reply replaces the interim 202, never the other way), the latest hall and device states
(an older `since` never overwrites a newer one)."""

from __future__ import annotations

import asyncio
import json

from cloud.sink import Message, PostgresSink
from tests.cloud.conftest import query
from tests.cloud.envelopes import event


def _write(dsn: str, *batches: list[Message]) -> None:
    async def run() -> None:
        sink = PostgresSink(dsn)
        await sink.connect()
        for b in batches:
            await sink.write(b)
        await sink.close()

    asyncio.run(run())


def _reply(cmd: str, code: int, msg: str) -> Message:
    body = {"cmd_id": cmd, "code": code, "msg": msg, "data": {"n": code}}
    return "halls/h1/replies/printer-9", json.dumps(body).encode()


def _state(topic: str, state: str, since: str) -> Message:
    return topic, json.dumps({"state": state, "since": since, "version": "0.1.0"}).encode()


def test_alerts_once_each(pg_dsn: str) -> None:
    alert = event(
        "h1",
        1,
        etype="alert.raised",
        device="hub",
        data={
            "severity": "critical",
            "rule": "spool.budget",
            "message": "缓存已满",
            "subject": "x",
        },
    )
    _write(pg_dsn, [alert, event("h1", 2)], [alert])  # the alert delivered twice
    rows = query(pg_dsn, "SELECT hallid, severity, rule, message FROM alerts")
    assert [(r["hallid"], r["severity"], r["rule"], r["message"]) for r in rows] == [
        ("h1", "critical", "spool.budget", "缓存已满")
    ]


def test_final_reply_replaces_the_interim_one_only(pg_dsn: str) -> None:
    _write(
        pg_dsn,
        [_reply("c1", 202, "device offline; queued until it is back")],
        [_reply("c1", 200, "ok"), _reply("c2", 404, "unknown device")],
        [_reply("c1", 202, "already in progress")],  # a late interim one changes nothing
    )
    rows = query(pg_dsn, "SELECT cmd_id, deviceid, code, msg FROM replies ORDER BY cmd_id")
    assert [(r["cmd_id"], r["deviceid"], r["code"], r["msg"]) for r in rows] == [
        ("c1", "printer-9", 200, "ok"),
        ("c2", "printer-9", 404, "unknown device"),
    ]


def test_latest_states_win_by_since(pg_dsn: str) -> None:
    hall, dev = "halls/h1/state", "halls/h1/devices/pad-1/state"
    _write(
        pg_dsn,
        [
            _state(hall, "online", "2026-12-03T09:00:00+08:00"),
            _state(dev, "online", "2026-12-03T09:00:00+08:00"),
        ],
        [_state(dev, "offline", "2026-12-03T10:00:00+08:00")],
        # a retained copy of the older state, delivered late (a second consumer, a reconnect)
        [
            _state(hall, "offline", "2026-12-03T08:00:00+08:00"),
            _state(dev, "online", "2026-12-03T09:00:00+08:00"),
        ],
        [("halls/h1/devices/pad-1/state", b"")],  # a cleared retained state: nothing to store
    )
    [h] = query(pg_dsn, "SELECT state FROM hall_state WHERE hallid = 'h1'")
    [d] = query(pg_dsn, "SELECT state FROM device_state WHERE hallid = 'h1' AND deviceid = 'pad-1'")
    assert (h["state"], d["state"]) == ("online", "offline")
    assert query(pg_dsn, "SELECT count(*) AS n FROM dead_letters")[0]["n"] == 0
