"""`hall-cloud report`: the figures of each hall from what the consumer stored."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime

from cloud.sink import PostgresSink
from tests.cloud.envelopes import event
from tests.support.hall import ROOT

DAY = "2026-12-03"  # hall time Asia/Shanghai: 2026-12-02T16:00Z .. 2026-12-03T16:00Z


def _model(counter: int, trigger: str) -> dict[str, object]:
    return {
        "counter": counter,
        "counters": [counter],
        "month": "2026-11",
        "satisfaction_rate": 0.97,
        "trigger": trigger,
    }


def _fill(dsn: str) -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text)

    batch = [
        # h1: three events on the day (one just after midnight hall time), one the day before
        event("h1", 1, time=at("2026-12-02T15:59:59+00:00")),
        event("h1", 2, time=at("2026-12-02T16:00:00+00:00")),
        event("h1", 3, time=at("2026-12-03T09:00:00+08:00")),
        event("h1", 7, time=at("2026-12-03T23:59:00+08:00")),  # 4..6 missing
        # the model counter of November: the closed month's wins over an earlier on-demand
        event(
            "h1",
            8,
            etype="kpi.model_window",
            device="hub",
            data=_model(5, "on_demand"),
            time=at("2026-11-20T10:00:00+08:00"),
        ),
        event(
            "h1",
            9,
            etype="kpi.model_window",
            device="hub",
            data=_model(3, "month_closed"),
            time=at("2026-12-01T06:00:00+08:00"),
        ),
        event("h2", 1, time=at("2026-12-03T10:00:00+08:00")),
        (
            "halls/h1/devices/pad-1/state",
            b'{"state": "offline", "since": "2026-12-03T08:00:00+08:00"}',
        ),
        ("halls/h1/devices/pad-2/state", b'{"state": "online"}'),
        ("halls/h2/state", b'{"state": "offline", "version": "0.1.0"}'),
    ]

    async def run() -> None:
        sink = PostgresSink(dsn)
        await sink.connect()
        await sink.write(batch)
        await sink.close()

    asyncio.run(run())


def _report(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloud", "report", "--db", dsn, "--day", DAY, *args],
        check=False,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_report_json_per_hall(pg_dsn: str) -> None:
    _fill(pg_dsn)
    out = _report(pg_dsn, "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["day"], doc["month"], doc["timezone"]) == (DAY, "2026-11", "Asia/Shanghai")
    h1, h2 = doc["halls"]
    assert h1["hallid"] == "h1" and h1["events_today"] == 3
    assert (h1["open_gaps"], h1["missing_events"]) == (1, 3)
    assert (h1["devices_offline"], h1["offline_devices"]) == (1, ["pad-1"])
    assert (h1["model_counter"], h1["model_trigger"]) == (3, "month_closed")
    assert h1["last_seen"] is not None
    assert (h2["events_today"], h2["state"], h2["model_counter"]) == (1, "offline", None)


def test_report_text_and_bad_options(pg_dsn: str) -> None:
    _fill(pg_dsn)
    out = _report(pg_dsn)
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if "│ h1 " in ln)
    assert "1 (3 missing)" in line and "3 (97.0%)" in line
    bad = _report(pg_dsn, "--month", "2026-13")
    assert bad.returncode == 2 and "--month: expected YYYY-MM" in bad.stderr
    gone = _report(pg_dsn.rsplit("/", 1)[0] + "/no_such_db_here")
    assert (
        gone.returncode == 1 and "Traceback" not in gone.stderr and "no_such_db_here" in gone.stderr
    )
