"""The queue survives a SIGKILL of the hub: its state is rebuilt from today's journal."""

from __future__ import annotations

import time
from pathlib import Path

from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.hub.test_hub_commands import QUEUE
from tests.support.cloud import CloudClient
from tests.support.hall import Collector, write_config


def test_queue_state_is_rebuilt_after_sigkill(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    cfg = write_config(
        tmp_path / "hall.toml", hall_broker.url, cloud_broker.url, devices=[], tables=QUEUE
    )
    events = Collector(cloud_broker.url, ["halls/test-hall/events/#"], client_id="q-restart")
    hub = HubProcess(cfg)
    hub.start()
    cloud = CloudClient(cloud_broker.url)
    n = 0

    def command(name: str, args: dict[str, object]) -> None:
        nonlocal n
        n += 1
        cloud.send("hub", name, {"cmd_id": f"c{n}", "args": args})
        cloud.wait_reply(f"c{n}", 202)

    def called() -> list[str]:
        seen: dict[int, str] = {}
        for e in events.envelopes():
            if e["type"] == "queue.ticket.called":
                seen[int(e["hallseq"])] = str(e["data"]["ticket_no"])
        return [seen[k] for k in sorted(seen)]

    try:
        for i in range(4):
            command("queue.issue", {"service": "payment", "request_id": f"R{i}"})
        command("queue.call_next", {"counter": 1})
        events.wait_for(lambda: called() == ["A001"], 20, "A001 called")
        hub.kill()
        hub.start()
        command("queue.call_next", {"counter": 1})
        events.wait_for(lambda: len(called()) == 2, 20, "the next call after the restart")
        command("queue.issue", {"service": "payment", "request_id": "R9"})
        events.wait_for(
            lambda: any(
                e["type"] == "queue.ticket.issued" and e["data"]["request_id"] == "R9"
                for e in events.envelopes()
            ),
            20,
            "a ticket issued after the restart",
        )
        time.sleep(0.3)
    finally:
        cloud.close()
        hub.stop()
        events.close()
    assert called() == ["A001", "A002"], "no ticket called twice, none skipped"
    issued = {
        e["data"]["request_id"]: e["data"]["ticket_no"]
        for e in events.envelopes()
        if e["type"] == "queue.ticket.issued"
    }
    assert issued["R9"] == "A005", "numbering continues where it was"
    completed = [e["data"] for e in events.envelopes() if e["type"] == "queue.ticket.completed"]
    assert [c["ticket_no"] for c in completed][:1] == ["A001"], (
        "the call after the restart finished A001"
    )
