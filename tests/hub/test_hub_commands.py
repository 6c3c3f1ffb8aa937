"""The hub's own commands from the cloud: rules reload/trace (and hot reload), kpi.report,
queue.issue / queue.call_next — through a real hub process and real brokers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.sim.device_publisher import DevicePublisher
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.support.cloud import HALL, CloudClient
from tests.support.hall import Collector, queue_tables, write_config

RULE = """
rules:
  - id: big-payment
    description: 大额缴费提醒
    trigger: {{events: [kiosk.payment]}}
    when: data.amount_cents >= {bar}
    actions:
      - alert: {{severity: info, message: "大额缴费{{data.amount_cents}}分"}}
"""

QUEUE = queue_tables({"number": 1, "services": ["payment"]})


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("hubcmd")
    hb, cb = Mosquitto(tmp / "hb"), Mosquitto(tmp / "cb")
    hb.start()
    cb.start()
    rules = tmp / "rules"
    rules.mkdir()
    (rules / "hall.yaml").write_text(RULE.format(bar=100_000), encoding="utf-8")
    cfg = write_config(
        tmp / "hall.toml",
        hb.url,
        cb.url,
        devices=[{"id": "kiosk-9", "profile": "generic-mqtt"}],
        tables={"rules": {"paths": ["rules"]}, **QUEUE},
    )
    hub = HubProcess(cfg)
    hub.start()
    cloud = CloudClient(cb.url)
    events = Collector(cb.url, [f"halls/{HALL}/events/#"], client_id="hubcmd-events")
    dev = DevicePublisher(hb.url, client_id="kiosk-9")
    yield {"cloud": cloud, "events": events, "dev": dev, "rules": rules, "hub": hub}
    dev.close()
    events.close()
    cloud.close()
    hub.stop()
    hb.stop()
    cb.stop()


def _pay(dev: DevicePublisher, cents: int) -> None:
    dev.publish(
        "hall/devices/kiosk-9/events/kiosk/payment",
        {"amount_cents": cents, "channel": "wechat", "result": "ok"},
    )


def _alerts(events: Collector, rule: str) -> list[dict[str, Any]]:
    return [
        e
        for e in events.envelopes()
        if e["type"] == "alert.raised" and e["data"].get("rule") == rule
    ]


def test_rules_reload_trace_and_a_bad_reload_keeps_the_old_rules(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    events: Collector = hall["events"]
    dev: DevicePublisher = hall["dev"]
    rules: Path = hall["rules"]
    _pay(dev, 200_000)
    events.wait_for(lambda: len(_alerts(events, "big-payment")) == 1, 20, "the hall rule fires")
    cloud.send("hub", "rules.trace", {"cmd_id": "t-1", "args": {"rule": "big-payment"}})
    traces = cloud.wait_reply("t-1", 200)[0]["data"]["traces"]
    assert traces and traces[-1]["event"]["type"] == "kiosk.payment"

    # A broken change: refused with the file named, the old rule keeps firing.
    (rules / "hall.yaml").write_text(RULE.format(bar="((("), encoding="utf-8")
    cloud.send("hub", "rules.reload", {"cmd_id": "r-bad"})
    reply = cloud.wait_reply("r-bad", 400)[0]
    assert "hall.yaml" in reply["msg"]
    events.wait_for(
        lambda: len(_alerts(events, "rules.reload")) >= 1, 20, "alert about the bad file"
    )
    _pay(dev, 300_000)
    events.wait_for(lambda: len(_alerts(events, "big-payment")) == 2, 20, "old rule still running")

    # A good change is picked up by the file watcher alone (no command).
    (rules / "hall.yaml").write_text(RULE.format(bar=100), encoding="utf-8")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(_alerts(events, "big-payment")) < 3:
        _pay(dev, 500)  # only fires under the new bar
        time.sleep(1.0)
    assert len(_alerts(events, "big-payment")) >= 3, "hot reload on file change"
    cloud.send("hub", "rules.reload", {"cmd_id": "r-ok"})
    assert cloud.wait_reply("r-ok", 200)[0]["data"]["rules"] >= 1


def test_kpi_report_on_the_hub(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    day = time.strftime("%Y-%m-%d")
    cloud.send("hub", "kpi.report", {"cmd_id": "k-1", "args": {"day": day}})
    data = cloud.wait_reply("k-1", 200)[0]["data"]
    assert data, "a day report"
    cloud.send("hub", "kpi.report", {"cmd_id": "k-2", "args": {"day": "27/11/2026"}})
    cloud.wait_reply("k-2", 400)


def test_queue_issue_from_the_cloud(hall: dict[str, Any]) -> None:
    cloud: CloudClient = hall["cloud"]
    events: Collector = hall["events"]
    cloud.send(
        "hub",
        "queue.issue",
        {
            "cmd_id": "q-1",
            "args": {"service": "payment", "channel": "wechat", "request_id": "WX-1"},
        },
    )
    reply = cloud.wait_reply("q-1", 202)[0]
    assert reply["data"]["request_id"] == "WX-1"
    events.wait_for(
        lambda: any(
            e["type"] == "queue.ticket.issued" and e["data"].get("request_id") == "WX-1"
            for e in events.envelopes()
        ),
        20,
        "the ticket",
    )
    issued = next(e for e in events.envelopes() if e["type"] == "queue.ticket.issued")
    assert issued["data"]["ticket_no"] == "A001" and issued["data"]["channel"] == "wechat"
    cloud.send("hub", "queue.call_next", {"cmd_id": "q-2", "args": {"counter": 1}})
    cloud.wait_reply("q-2", 202)
    events.wait_for(
        lambda: any(e["type"] == "queue.ticket.called" for e in events.envelopes()), 20, "the call"
    )
    cloud.send("hub", "queue.issue", {"cmd_id": "q-3", "args": {"service": "nope"}})
    cloud.wait_reply("q-3", 400)
