"""`hall-cloud report`: per hall, what a fleet operator looks at first.

Events of the day (hall time, `--tz`), when the hall was last heard from, its hall state,
open gaps (and how many numbers they miss), devices offline, and the model counter
(标兵窗口) of a month from the hall's `kpi.model_window` events ([kpi.md](../docs/kpi.md)):
the `month_closed` one when the month has been closed, else the latest `on_demand` one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec


@dataclass(slots=True)
class HallReport:
    hallid: str
    state: str | None = None
    last_seen: str | None = None
    events_today: int = 0
    open_gaps: int = 0
    missing_events: int = 0
    devices_offline: int = 0
    offline_devices: list[str] | None = None
    model_month: str | None = None
    model_counter: Any = None
    model_counters: list[Any] | None = None
    model_satisfaction_rate: float | None = None
    model_trigger: str | None = None
    reused_seqs: int = 0


async def gather(dsn: str, day: date, tz: ZoneInfo, month: str) -> list[HallReport]:
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        halls: dict[str, HallReport] = {}

        def hall(h: str) -> HallReport:
            return halls.setdefault(h, HallReport(h))

        for r in await conn.fetch(
            "SELECT hallid, max(last_seen) AS seen, sum(reused_seqs) AS reused"
            " FROM journals GROUP BY hallid"
        ):
            hall(r["hallid"]).last_seen = r["seen"].astimezone(tz).isoformat(timespec="seconds")
            hall(r["hallid"]).reused_seqs = int(r["reused"])
        for r in await conn.fetch("SELECT hallid, state FROM hall_state"):
            hall(r["hallid"]).state = r["state"]
        for r in await conn.fetch(
            "SELECT hallid, count(*) AS n FROM events WHERE time >= $1 AND time < $2"
            " GROUP BY hallid",
            start,
            end,
        ):
            hall(r["hallid"]).events_today = int(r["n"])
        for r in await conn.fetch(
            "SELECT hallid, count(*) AS n, sum(to_seq - from_seq + 1) AS missing FROM gaps"
            " WHERE closed_at IS NULL GROUP BY hallid"
        ):
            hall(r["hallid"]).open_gaps = int(r["n"])
            hall(r["hallid"]).missing_events = int(r["missing"])
        for r in await conn.fetch(
            "SELECT hallid, array_agg(deviceid ORDER BY deviceid) AS ids FROM device_state"
            " WHERE state = 'offline' GROUP BY hallid"
        ):
            hall(r["hallid"]).devices_offline = len(r["ids"])
            hall(r["hallid"]).offline_devices = list(r["ids"])
        for r in await conn.fetch(
            "SELECT DISTINCT ON (hallid) hallid, data FROM events"
            " WHERE type = 'kpi.model_window' AND data->>'month' = $1"
            " ORDER BY hallid, (data->>'trigger' = 'month_closed') DESC, time DESC",
            month,
        ):
            h = hall(r["hallid"])
            data = msgspec.json.decode(r["data"])
            h.model_month = month
            h.model_counter = data.get("counter")
            h.model_counters = data.get("counters")
            h.model_satisfaction_rate = data.get("satisfaction_rate")
            h.model_trigger = data.get("trigger")
    finally:
        await conn.close()
    return [halls[h] for h in sorted(halls)]


def as_json(reports: list[HallReport], day: date, month: str, tz: str) -> str:
    doc = {"day": day.isoformat(), "month": month, "timezone": tz}
    doc["halls"] = [asdict(r) for r in reports]  # type: ignore[assignment]
    return msgspec.json.encode(doc).decode()


def rows(reports: list[HallReport]) -> list[list[str]]:
    """The text table's cells, one row per hall."""

    def model(r: HallReport) -> str:
        if r.model_trigger is None:
            return "-"
        counters = r.model_counters or ([r.model_counter] if r.model_counter else [])
        who = ", ".join(str(c) for c in counters) or "none"
        rate = "" if r.model_satisfaction_rate is None else f" ({r.model_satisfaction_rate:.1%})"
        return who + rate + (" on demand" if r.model_trigger == "on_demand" else "")

    return [
        [
            r.hallid,
            r.state or "-",
            r.last_seen or "-",
            str(r.events_today),
            "0" if not r.open_gaps else f"{r.open_gaps} ({r.missing_events} missing)",
            str(r.devices_offline),
            model(r),
        ]
        for r in reports
    ]


COLUMNS = ("hall", "state", "last seen", "events today", "open gaps", "devices offline")
