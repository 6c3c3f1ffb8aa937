"""No event lost: cloud outages, hub SIGKILLs, envelope fields, hallseq, resent marks."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from edge.sim.device_publisher import DevicePublisher
from edge.sim.mosquitto import Mosquitto
from tests.support.hall import Collector, started_hub

TOPIC = "hall/devices/pad-1/events/rating/submitted"


def _check_envelope(env: dict[str, object], hall_id: str = "test-hall") -> None:
    assert env["specversion"] == "1.0"
    assert env["type"] == "rating.submitted"
    assert env["source"] == f"/halls/{hall_id}/devices/pad-1"
    assert env["datacontenttype"] == "application/json"
    assert env["hallid"] == hall_id and env["deviceid"] == "pad-1"
    assert isinstance(env["id"], str) and len(env["id"]) == 26
    t = datetime.fromisoformat(str(env["time"]))
    assert t.utcoffset() is not None and t.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
    assert isinstance(env["hallseq"], int)


def test_10k_events_survive_a_cloud_outage(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    cloud = Collector(cloud_broker.url, ["halls/test-hall/events/#"])
    hub = started_hub(tmp_path, hall_broker.url, cloud_broker.url)
    dev = DevicePublisher(hall_broker.url)
    n = 10_000

    def ratings() -> list[dict[str, object]]:
        return [e for e in cloud.envelopes() if e["type"] == "rating.submitted"]

    def send(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            dev.publish(
                TOPIC,
                {
                    "id": f"r{i}",
                    "n": i,
                    "level": 1 + i % 5,
                    "counter": i % 7,
                    "time": "2026-11-27T09:31:05.123+08:00",
                },
            )

    try:
        send(0, 3000)
        cloud.wait_for(lambda: len(ratings()) >= 2000, 60, "live delivery before the outage")
        cloud_broker.stop()  # the cloud goes away for 4,000 events
        send(3000, 7000)
        time.sleep(1.0)
        cloud_broker.start()
        send(7000, n)
        cloud.wait_for(
            lambda: len({e["id"] for e in ratings()}) >= n, 120, "all events in the cloud"
        )
    finally:
        dev.close()
        assert hub.stop() == 0
        cloud.close()
    envs = cloud.envelopes()
    every_seq = {int(e["hallseq"]) for e in envs}
    assert sorted(every_seq) == list(range(1, max(every_seq) + 1)), "hallseq contiguous from 1"
    by_seq: dict[int, dict[str, object]] = {}
    for e in envs:
        if e["type"] == "rating.submitted":
            _check_envelope(e)
            by_seq.setdefault(int(e["hallseq"]), e)
    seqs = sorted(by_seq)
    assert len(seqs) == n
    levels = Counter(int(by_seq[s]["data"]["level"]) for s in seqs)  # type: ignore[index]
    assert levels == Counter(1 + i % 5 for i in range(n))
    # The device's own time is kept, never the time it was re-sent.
    assert {by_seq[s]["time"] for s in seqs} == {"2026-11-27T09:31:05.123+08:00"}
    resent_n = {int(by_seq[s]["data"]["n"]) for s in seqs if by_seq[s].get("resent") is True}  # type: ignore[index]
    assert all(by_seq[s].get("resent") in (None, True) for s in seqs)
    during = set(range(3000, 7000))
    # Spooled while the cloud was away: delivered from the backlog, marked resent.
    assert len(resent_n & during) >= 3000, len(resent_n & during)
    # Delivered live before the outage: not marked.
    assert len(set(range(0, 2000)) - resent_n) >= 1000


def test_sigkill_during_load_loses_nothing(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    cloud = Collector(cloud_broker.url, ["halls/test-hall/events/#"])
    hub = started_hub(tmp_path, hall_broker.url, cloud_broker.url)
    dev = DevicePublisher(hall_broker.url)
    n = 6000
    kills = 0
    try:
        for i in range(n):
            dev.publish(TOPIC, {"id": f"k{i}", "level": 5, "counter": 1, "n": i})
            if i and i % 1500 == 0:
                time.sleep(0.05)
                hub.kill()  # like a power cut: no shutdown code runs
                kills += 1
                hub.start()
        cloud.wait_for(
            lambda: {e["data"].get("n") for e in cloud.envelopes()} >= set(range(n)),
            120,
            "every event after the kills",
        )
    finally:
        dev.close()
        hub.stop()
        cloud.close()
    envs = [e for e in cloud.envelopes() if e["type"] == "rating.submitted"]
    counts = Counter(e["data"]["n"] for e in envs)
    duplicates = sum(c - 1 for c in counts.values())
    print(f"\n{kills} SIGKILLs, {n} events, {len(envs)} received, {duplicates} duplicates")
    assert kills == 3
    assert set(counts) == set(range(n))
    # Each journaled event keeps one hallseq: duplicates are resends of the same envelope.
    seq_of: dict[int, set[int]] = {}
    for e in envs:
        seq_of.setdefault(e["data"]["n"], set()).add(e["hallseq"])
    assert all(len(s) == 1 for s in seq_of.values()), "a device id is journaled once"
    assert len({s for v in seq_of.values() for s in v}) == n
