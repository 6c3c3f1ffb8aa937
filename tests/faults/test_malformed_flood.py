"""Fault: a flood of malformed MQTT payloads and serial frames mixed into valid traffic.

Every valid event must reach the cloud; every malformed message or frame must be in the
dead-letter table with its raw bytes and the right reason; the pipeline never stops.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from edge.sim.mosquitto import Mosquitto
from tests.faults.conftest import Scale
from tests.faults.test_serial_unplug import SerialHall
from tests.support.load import Load, rating

pytestmark = pytest.mark.faults

RATING = "hall/devices/pad-1/events/rating/submitted"
MAX_BYTES = 8192  # hall_broker.max_message_bytes for this hall


def _malformed(k: int) -> tuple[str, bytes, str]:
    """The k-th malformed message: (topic, payload, the dead-letter reason expected)."""
    kinds: list[tuple[str, bytes, str]] = [
        (RATING, b'{"level": 5, "n": %d' % k, "invalid_json"),
        (RATING, b"", "invalid_json"),
        (RATING, b"\xff\xfe\x00 not text %d" % k, "invalid_json"),
        (RATING, b"[5, %d]" % k, "not_an_object"),
        (RATING, b"%d" % k, "not_an_object"),
        (
            "hall/devices/ghost-9/events/rating/submitted",
            b'{"level": 5, "k": %d}' % k,
            "unknown_device",
        ),
        (RATING, b'{"k": %d, "pad": "%s"}' % (k, b"x" * MAX_BYTES), "too_large"),
        (RATING, b'{"id": [%d], "level": 5}' % k, "bad_field"),
        (RATING, b'{"id": true, "k": %d}' % k, "bad_field"),
        (RATING, b'{"time": "yesterday %d", "level": 5}' % k, "bad_field"),
        ("hall/devices/pad-1/events", b'{"k": %d}' % k, "bad_topic"),
        ("hall/devices/pad-1/events/rating//submitted", b'{"k": %d}' % k, "bad_topic"),
        ("hall/devices/pad-1/state", b'{"state": "sleepy", "k": %d}' % k, "bad_field"),
        ("hall/devices/pad-1/replies", b"not json %d" % k, "invalid_json"),
        ("hall/devices/pad-1/replies", b'{"code": 200, "k": %d}' % k, "bad_field"),
    ]
    return kinds[k % len(kinds)]


# Lines a serial ticket machine might send on a noisy line, and the reason each gets.
SERIAL_GARBAGE: list[tuple[bytes, str]] = [
    (b"REQ,K1-BAD1,99,0", "unknown_value"),
    (b"REQ,K1-BAD2", "bad_field_count"),
    (b"HELLO FROM THE SERVICE PORT", "no_rule"),
    (b"\xff\xfe\xfd\xfc", "no_rule"),
    (b"REQ,\xff\xfe,01,0", "bad_text"),
    (b"Z" * 300, "too_long"),
]


def test_malformed_payloads_and_frames_go_to_dead_letters_valid_ones_arrive(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto, scale: Scale
) -> None:
    link = tmp_path / "by-id" / "usb-Prolific_K1"
    small = {"hall_broker": {"max_message_bytes": MAX_BYTES}}
    hall = SerialHall(tmp_path, hall_broker.url, cloud_broker.url, link, tables=small)
    line, cloud, hub = hall.line, hall.cloud, hall.hub
    n = scale.n(6000)
    valid = rating()
    injected: list[tuple[str, bytes, str]] = []

    def make(i: int) -> tuple[str, dict[str, Any] | bytes]:
        if i % 3 == 2:  # one message in three is malformed
            topic, payload, reason = _malformed(i)
            injected.append((topic, payload, reason))
            return topic, payload
        return valid(i)

    load = Load(hall_broker.url, make, n).start()
    tickets = []
    rounds = scale.n(20)
    try:
        for _ in range(rounds):  # serial garbage between valid requests, all along the load
            tickets += line.request(25)
            line.garbage([g for g, _r in SERIAL_GARBAGE])
            load.wait_sent(min(n, load.sent + n // rounds), 60)
        load.wait(scale.timeout(120))
        valid_ns = {i for i in range(n) if i % 3 != 2}
        cloud.wait_for(
            lambda: cloud.ns("rating.submitted") >= valid_ns,
            scale.timeout(120),
            "every valid rating",
        )
        cloud.wait_for(line.settled, 60, "every ticket request acknowledged")
        cloud.wait_for(
            lambda: cloud.request_ids() >= set(tickets), 60, "every ticket request in the cloud"
        )
        assert hub.proc is not None and hub.proc.poll() is None
    finally:
        hall.close(load)
    view = hall.audit("malformed flood")
    print(f"  {len(injected)} MQTT + {rounds * len(SERIAL_GARBAGE)} serial injected")
    assert view.types()["rating.submitted"] == len(valid_ns)
    assert view.types()["queue.ticket.requested"] == len(tickets)
    # Every malformed MQTT message is a dead letter, once, with its raw bytes and reason.
    mqtt_dead = Counter(
        (d.topic, d.raw, d.reason) for d in view.dead if d.topic.startswith("hall/")
    )
    assert mqtt_dead == Counter(injected)
    # Every garbage line of the serial machine too (raw bytes as framed, reason first word).
    serial_dead = Counter(
        (d.raw.rstrip(b"\r\n"), d.reason.split(":")[0])
        for d in view.dead
        if not d.topic.startswith("hall/")
    )
    assert serial_dead == Counter({(g, r): rounds for g, r in SERIAL_GARBAGE})
    assert {d.device_id for d in view.dead if not d.topic.startswith("hall/")} == {"kiosk-1"}
    # Nothing malformed leaked to the cloud.
    assert not cloud.undecodable
