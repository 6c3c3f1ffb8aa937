"""The whole queue flow through the real hub, with simulated serial devices on pty pairs:
ticket machine → queue → serial caller → display/voice → rating pad → events in the cloud."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from edge.config import load
from edge.hub.build import build_hub
from edge.sim.counter import BusSim, CallerSim, RatingPadSim
from edge.sim.display import DisplaySim
from edge.sim.hall_links import PAD_BUS_BASE, open_hall_links
from edge.sim.mosquitto import Mosquitto
from edge.sim.ticket import TicketMachineSim
from tests.support.hall import PAYMENT, Collector, queue_tables, write_config

CONSULTATION = {
    "code": "consultation",
    "letter": "B",
    "name_zh": "咨询",
    "name_en": "Consultation",
    "norm_min": 20,
}
QUEUE = queue_tables(
    {
        "number": 1,
        "services": ["payment", "consultation"],
        "caller": "caller-1",
        "rating_pad": "pad-1",
        "displays": ["display-1"],
    },
    {"number": 2, "services": ["consultation"], "caller": "caller-2"},
    services=[PAYMENT, CONSULTATION],
    rating_timeout_s=20,
    status_min_interval_s=0.2,
    voices=["display-1"],
)


async def _wait(event: asyncio.Event, what: str, timeout: float = 15.0) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
    event.clear()


def test_ticket_call_display_rating_reach_the_cloud(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    links = open_hall_links(counters=2, link_dir=tmp_path / "dev")
    wanted = {"caller-1", "caller-2", "pad-1", "ticket-1", "display-1"}
    devices = [d for d in links.devices() if d["id"] in wanted]
    cfg_path = write_config(
        tmp_path / "hall.toml",
        hall_broker.url,
        cloud_broker.url,
        devices,
        hall_id="q-hall",
        tables=QUEUE,
    )
    cloud = Collector(cloud_broker.url, ["halls/q-hall/#"], client_id="q-cloud")

    async def scenario() -> None:
        hub = await build_hub(load(cfg_path))
        hub_task = asyncio.create_task(hub.run())
        bus = BusSim(links.bus.port)
        caller1 = CallerSim(bus, 1)
        CallerSim(bus, 2)
        pad1 = RatingPadSim(bus, PAD_BUS_BASE + 1)
        ticket = TicketMachineSim(links.ticket.port)
        display = DisplaySim(links.display.port)
        sims = [asyncio.create_task(s.run()) for s in (bus, ticket, display)]
        try:
            await asyncio.wait_for(hub.hall.connected.wait(), 15)
            request_id = await ticket.request("payment")
            assert request_id is not None, "the hub acknowledged the ticket request"
            await _wait(ticket.printed_event, "ticket.print")
            printed = ticket.printed[-1]
            assert printed.request_id == request_id and printed.ticket_no == "A001"

            assert await caller1.press("call_next")
            await _wait(caller1.digits_shown, "caller digits")
            await _wait(display.changed, "display call")
            assert any(call[0] == "A001" and call[1] == "1" for call in display.calls), (
                display.calls
            )
            assert "A001" in caller1.state.display

            assert await caller1.press("finish")
            await _wait(pad1.started, "rating.start on the pad")
            assert await pad1.rate(5)

            def arrived() -> bool:
                types = {e["type"] for e in cloud.envelopes()}
                status = any(
                    t.startswith("halls/q-hall/queue/status/") for t, _, _ in cloud.messages
                )
                return status and {"queue.ticket.completed", "rating.submitted"} <= types

            for _ in range(300):
                if arrived():
                    break
                await asyncio.sleep(0.05)
        finally:
            hub.stop()
            await hub_task
            for t in sims:
                t.cancel()
            await asyncio.gather(*sims, return_exceptions=True)

    try:
        asyncio.run(scenario())
    finally:
        links.close()
        cloud.close()

    envs = cloud.envelopes()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in envs:
        by_type.setdefault(str(e["type"]), []).append(e)
    for expected in (
        "queue.ticket.requested",
        "queue.ticket.issued",
        "counter.action",
        "queue.ticket.called",
        "queue.ticket.completed",
        "rating.requested",
        "rating.submitted",
    ):
        assert expected in by_type, f"{expected} missing; got {sorted(by_type)}"
    issued = by_type["queue.ticket.issued"][0]["data"]
    assert issued["ticket_no"] == "A001" and issued["service"] == "payment"
    called = by_type["queue.ticket.called"][0]["data"]
    assert called["counter"] == 1 and called["call_no"] == 1
    completed = by_type["queue.ticket.completed"][0]["data"]
    assert completed["wait_s"] >= 0 and completed["service_s"] >= 0
    rating = by_type["rating.submitted"][-1]["data"]
    assert rating["level"] == 5
    seqs = sorted(int(e["hallseq"]) for e in envs if "hallseq" in e)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    status_topics = [t for t, _, _ in cloud.messages if t.startswith("halls/q-hall/queue/status/")]
    assert status_topics, "retained queue.status per service on the cloud"
    last = json.loads(next(p for t, p, _ in reversed(cloud.messages) if t in status_topics))
    assert {"waiting", "longest_wait_s", "open_counters"} <= set(last)
