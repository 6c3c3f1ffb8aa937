"""The demo hall's config: valid for the hub, matching the simulated devices."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edge.demo.config import GROUPS, MARKER, SERVICES, prepare_workdir, write_demo_config
from edge.demo.options import HallClock
from edge.errors import EdgeError
from edge.hub.build import check_config
from edge.model import Event
from edge.rules.hubconfig import device_groups
from edge.sim.hall_day import HALL_TZ
from edge.sim.hall_day import SERVICES as SIMULATED_SERVICES
from edge.sim.hall_links import open_hall_links
from edge.store import Journal


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
    assert "clock_scale" not in cfg.rules.params  # the hub runs on the hall day's clock
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


def test_the_demo_hub_stamps_the_hall_days_time(tmp_path: Path) -> None:
    """#14.8: one clock for the demo's devices and hub. It stands at opening time until
    the day begins, then runs `speed` times the real one; the journal stamps with it."""
    clock = HallClock(600)
    journal = Journal(tmp_path / "hall.db", "demo", HALL_TZ, clock=clock.sim.now)
    try:
        (first,) = journal.write_batch([Event("x.y", "pad-1", {})]).written
        clock.sim.begin()
        time.sleep(0.2)  # two hall minutes at x600
        (later,) = journal.write_batch([Event("x.y", "pad-1", {})]).written
    finally:
        journal.close()
    assert first.event.time.astimezone(HALL_TZ).strftime("%H:%M:%S") == "08:30:00"
    ahead = (later.event.time - first.event.time).total_seconds()
    assert 100 <= ahead <= 600, ahead  # hall seconds, not the 0.2 real ones
    assert b'"time":"' + first.event.time.astimezone(HALL_TZ).date().isoformat().encode() in (
        first.envelope
    )
