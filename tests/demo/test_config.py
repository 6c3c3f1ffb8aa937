"""The demo hall's config: valid for the hub, matching the simulated devices."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.demo.config import GROUPS, MARKER, SERVICES, prepare_workdir, write_demo_config
from edge.errors import EdgeError
from edge.hub.build import check_config
from edge.model import Event, JournaledEvent
from edge.rules.hubconfig import device_groups, engine_for
from edge.sim.hall_day import SERVICES as SIMULATED_SERVICES
from edge.sim.hall_links import open_hall_links


def test_config_loads_and_matches_the_simulated_hall(tmp_path: Path) -> None:
    links = open_hall_links(5, tmp_path / "links")
    try:
        path, cfg = write_demo_config(
            tmp_path, "mqtt://127.0.0.1:40001", "mqtt://127.0.0.1:40002", links.devices(), 5
        )
        notes = check_config(cfg)  # profiles, device settings, rules: as `config check` does
    finally:
        links.close()
    assert path == tmp_path / "hall.toml"
    assert cfg.hall_broker.url.endswith(":40001") and cfg.cloud.url.endswith(":40002")
    assert {d.id for d in cfg.devices} >= {"caller-5", "pad-5", "display-1", "robot-1"}
    assert [c.number for c in cfg.queue.counters] == [1, 2, 3, 4, 5]
    for c in cfg.queue.counters:
        assert c.caller == f"caller-{c.number}" and c.rating_pad == f"pad-{c.number}"
        assert set(c.services) == {s.code for s in cfg.queue.services}
    assert {s[0] for s in SERVICES} == set(SIMULATED_SERVICES)
    groups = device_groups(cfg)
    assert groups["hall-screens"] == {"display-1"} and groups["robots"] == {"robot-1"}
    assert set(GROUPS.values()) <= set(groups)
    assert cfg.rules.params["hall_voice"] == "display-1"
    assert cfg.rules.params["clock_scale"] == 1  # a hall day at the speed of the clock
    assert cfg.faces.enabled is False
    assert any(n.startswith("queue: 6 services, 5 counters") for n in notes)


def test_workdir_journal_is_reset_only_when_the_demo_made_it(tmp_path: Path) -> None:
    prepare_workdir(tmp_path)
    (tmp_path / "hall.db").write_bytes(b"old demo journal")
    prepare_workdir(tmp_path)
    assert not (tmp_path / "hall.db").exists() and (tmp_path / MARKER).exists()

    foreign = tmp_path / "real-hall"
    foreign.mkdir()
    (foreign / "hall.db").write_bytes(b"a real hall's journal")
    with pytest.raises(EdgeError, match="did not make"):
        prepare_workdir(foreign)
    assert (foreign / "hall.db").read_bytes() == b"a real hall's journal"


def test_the_demo_scales_queue_waits_by_its_speed(tmp_path: Path) -> None:
    """The wait alert must be able to fire in a compressed hall day (#14.16)."""
    links = open_hall_links(2, tmp_path / "links")
    try:
        _, cfg = write_demo_config(
            tmp_path, "mqtt://127.0.0.1:1", "mqtt://127.0.0.1:2", links.devices(), 2, speed=120
        )
    finally:
        links.close()
    assert cfg.rules.params["clock_scale"] == 120
    engine = engine_for(cfg)
    status = JournaledEvent(
        1,
        "01M8DPPZM6EWMRVJBAP6CZNV2P",
        "queue.status",
        "hub",
        datetime.now(UTC),
        {"service": "payment", "waiting": 4, "longest_wait_s": 3, "open_counters": 1},
    )
    out = engine.handle(status)
    messages = [o.data["message"] for o in out if isinstance(o, Event) and o.type == "alert.raised"]
    assert messages == ["缴费业务最长等候已6分钟，超过5分钟的服务标准，请增开窗口"]
