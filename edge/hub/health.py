"""Is the hub alive, is it ready: one answer for systemd's watchdog and for `/healthz` and
`/readyz`, so the two can never disagree.

Alive: the event loop turns (the ticker's heartbeat is fresh) and the journal task runs.
Ready: alive, the journal is open and takes writes (no full disk), and the hall broker is
connected. A cloud outage is not "unready": the hub spools, and says so in the body.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge.hub.app import Hub

STALE_S = 5.0  # the ticker turns every second; five missed turns is a stuck loop


def liveness(hub: Hub) -> tuple[bool, dict[str, Any]]:
    problems: list[str] = []
    lag = time.monotonic() - hub.heartbeat
    if lag > STALE_S:
        problems.append(f"the event loop has not ticked for {lag:.1f} s")
    journal = hub.task("journal")
    if journal is None or journal.done():
        problems.append("the journal task is not running")
    body: dict[str, Any] = {
        "status": "ok" if not problems else "failing",
        "tick_lag_s": round(lag, 2),
    }
    if problems:
        body["reason"] = "; ".join(problems)
    return not problems, body


def readiness(hub: Hub) -> tuple[bool, dict[str, Any]]:
    alive, body = liveness(hub)
    problems = [body["reason"]] if not alive else []
    if hub.journal.closed:
        problems.append("the journal is closed")
    if hub.pipeline.disk_full:
        problems.append("the journal's disk is full (acknowledgements held)")
    hall = hub.hall.connected.is_set()
    if not hall:
        problems.append("the hall broker is not connected")
    cloud = hub.uplink.stats.connected
    body = {
        "status": "ready" if not problems else "not ready",
        "journal": "closed" if hub.journal.closed else ("full" if hub.pipeline.disk_full else "ok"),
        "hall_broker": "connected" if hall else "disconnected",
        # Not a reason to be unready: events wait in the outbox until the cloud is back.
        "cloud": "connected" if cloud else "disconnected (spooling)",
        "backlog": hub.journal.spool_count,
    }
    if problems:
        body["reason"] = "; ".join(problems)
    return not problems, body
