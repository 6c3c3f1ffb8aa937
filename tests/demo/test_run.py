"""The whole demo, end to end: private brokers, pty lines, the real hub, every simulated
device, the cloud watcher; then everything stopped."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

from edge.demo import runner as demo_runner
from edge.demo.options import DemoOptions
from edge.demo.runner import DemoRun
from edge.demo.summary import summary
from edge.errors import EdgeError
from edge.sim.hall_day import HALL_TZ
from edge.sim.mosquitto import port_in_use

# What each kind of simulated device says, as it must reach the cloud.
EXPECTED = {
    "caller-1": "counter.action",  # DL/T645 caller on the RS-485 bus
    "pad-1": "rating.submitted",  # DL/T645 rating pad on the same bus
    "pad-3": "rating.submitted",  # Modbus RTU rating pad (the last counter's)
    "ticket-1": "queue.ticket.requested",  # text-line ticket machine
    "display-1": "device.online",  # STX/ETX display: answers polls and commands only
    "printer-1": "printer.status",  # ESC/POS printer, DLE EOT status
    "robot-1": "robot.status",  # vendor MQTT robot
    "kiosk-1": "kiosk.payment",  # vendor MQTT payment kiosk
    "feedback-1": "feedback.submitted",  # vendor MQTT feedback machine
    "eform-1": "form.submitted",  # vendor MQTT e-form desk
    "hub": "queue.ticket.called",  # the queue manager's own results
}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_demo_hall_reaches_the_cloud_without_gaps_and_stops_cleanly(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200)
    workdir = tmp_path / "demo"
    # 600x: about four hall hours in 24 s. Seed 2 has the first feedback early in the day.
    opts = DemoOptions(
        duration_s=24, speed=600, counters=3, workdir=workdir, live=False, every_s=4, seed=2
    )
    run = DemoRun(opts, console)
    result = asyncio.run(run.run())
    text = out.getvalue()

    # Progress was shown while it ran.
    for step in ("starting brokers", "starting hub", "hub ready", "starting simulated devices"):
        assert step in text, text
    assert text.count("| cloud ") >= 5, text

    # Every kind of device got its own events through the hub to the cloud broker.
    missing = {d: t for d, t in EXPECTED.items() if result.by_source.get((d, t), 0) == 0}
    assert missing == {}, (missing, sorted(result.by_source))
    assert result.silent_profiles() == []
    assert result.by_type.get("robot.task", 0) > 0  # robot commands from the cloud ran
    assert result.by_type.get("invoice.printed", 0) > 0

    # hallseq: from 1, no gaps, nothing twice, nothing left behind.
    assert result.seq.first == 1
    assert result.seq.missing == 0 and result.seq.gaps == ()
    assert result.seq.duplicates == 0
    assert result.seq.last == result.events
    # Whatever is not waiting in the outbox (to be sent at the next start) reached the cloud.
    assert result.seq.last >= result.journal_last_seq - result.undelivered
    # The hub's clock tick may journal a rating time-out in the moment between its last
    # delivery and its stop: such an event stays in the outbox, which is no gap.
    assert result.undelivered <= 2
    assert result.metrics["dead_letters"] == 0
    assert result.problems() == []
    # The cloud's commands were answered (202 for tickets, 200 for the rest).
    assert result.replies.get(200, 0) > 0 and result.commands_sent > 0
    assert sum(result.replies.values()) >= result.commands_sent - 2  # the last may be in flight

    # The simulated devices and the cloud agree on what happened.
    assert result.day is not None and result.day.tickets_requested > 10
    assert result.by_source[("ticket-1", "queue.ticket.requested")] == result.day.tickets_requested

    # The brokers are gone: processes reaped, ports free; the serial links unplugged.
    assert result.brokers_stopped
    assert len(run.broker_pids) == 2 and all(_gone(pid) for pid in run.broker_pids)
    assert 1883 not in run.broker_ports
    assert not any(port_in_use(port) for port in run.broker_ports)
    assert not list((workdir / "links").iterdir())
    assert (workdir / "hall.toml").is_file() and (workdir / "demo.log").is_file()
    # The compressed day still shows a queue wait alert (waits scaled to hall minutes).
    conn = sqlite3.connect(f"file:{workdir / 'hall.db'}?mode=ro", uri=True)
    rules = [
        json.loads(env)["data"]["rule"]
        for (env,) in conn.execute("SELECT envelope FROM journal WHERE type='alert.raised'")
    ]
    conn.close()
    assert "queue-wait-too-long" in rules, rules
    # Stamped in the hall day's time (#14.8): 24 real seconds at x600 are hours of it.
    conn = sqlite3.connect(f"file:{workdir / 'hall.db'}?mode=ro", uri=True)
    lo, hi = conn.execute(
        "SELECT MIN(time_ms), MAX(time_ms) FROM journal WHERE type='queue.ticket.requested'"
    ).fetchone()
    conn.close()
    opens = datetime.fromtimestamp(lo / 1000, HALL_TZ)
    assert (opens.hour, opens.minute) >= (8, 30) and opens.hour < 10, opens
    assert (hi - lo) / 1000 > 2 * 3600, (lo, hi)

    rendered = Console(file=io.StringIO(), width=160, record=True)
    rendered.print(summary(result))
    final = rendered.export_text()
    assert "no gaps" in final and "queue.ticket.called" in final and "brokers" in final
    # The summary's hall day is what the cloud counted, not the simulators' key presses.
    t = result.by_type
    assert f"{t.get('queue.ticket.requested', 0)} requested" in final
    assert f"{t.get('queue.ticket.called', 0)} (recalls included)" in final
    assert f"{t.get('queue.ticket.completed', 0)} completed" in final


def test_brokers_are_stopped_when_the_hub_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_hub(cfg: object, clock: object = None) -> None:
        raise EdgeError("journal: disk on fire")

    monkeypatch.setattr(demo_runner, "build_hub", broken_hub)
    run = DemoRun(
        DemoOptions(duration_s=5, workdir=tmp_path, live=False), Console(file=io.StringIO())
    )
    with pytest.raises(EdgeError, match="disk on fire"):
        asyncio.run(run.run())
    assert len(run.broker_pids) == 2 and all(_gone(pid) for pid in run.broker_pids)
    assert not any(port_in_use(port) for port in run.broker_ports)
    assert not list((tmp_path / "links").iterdir())
