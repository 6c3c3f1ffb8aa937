"""State survives a restart (dump/load) and a reload (replace) for unchanged ids."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from edge.errors import StoreError
from edge.rules.engine import RuleEngine
from edge.rules.ruleset import RuleSet
from tests.rules.helpers import GROUPS, T0, TZ, Feed, alerts, commands, default_engine, ruleset_from

WINDOWED = """
windows:
  - id: pay-5m
    description: payments per kiosk, last 5 minutes
    trigger: kiosk.payment
    key: device_id
    value: data.amount_cents
    period: 5m
rules:
  - id: busy-kiosk
    description: many payments at one kiosk
    trigger: kiosk.payment
    vars: {n: "count('pay-5m', device_id)", total: "sum('pay-5m', device_id)"}
    when: n >= 3
    throttle: {key: device_id, period: 10m}
    actions:
      - alert: {message: "{device_id} {n} 笔 {total} 分"}
      - state: {increment: busy_alerts}
"""


def test_dump_and_load_restore_windows_throttles_values_traces(tmp_path: Path) -> None:
    engine = RuleEngine(ruleset_from(tmp_path, WINDOWED), TZ, GROUPS)
    feed = Feed()
    got = []
    for i in range(3):
        got += alerts(
            engine.evaluate(feed("kiosk.payment", {"amount_cents": 100}, device="k1", at=i)).outputs
        )
    assert [a["message"] for a in got] == ["k1 3 笔 300.0 分"]
    assert engine.dirty
    blob = engine.dump_state()
    assert not engine.dirty

    restarted = RuleEngine(ruleset_from(tmp_path, WINDOWED), TZ, GROUPS)
    restarted.load_state(blob)
    assert restarted.value("busy_alerts") == 1
    assert restarted.traces("busy-kiosk") == engine.traces("busy-kiosk")
    # window content survived (4th payment counts 4) and so did the throttle (no alert)
    out = restarted.evaluate(
        feed("kiosk.payment", {"amount_cents": 50}, device="k1", at=10)
    ).outputs
    assert alerts(out) == []
    assert restarted.traces("busy-kiosk")[-1]["values"]["n"] == 4
    # the last seq survived: an event already evaluated before the restart is skipped
    assert (
        restarted.evaluate(
            feed.__class__()("kiosk.payment", {"amount_cents": 1}, device="k1")
        ).outputs
        == []
    )


def test_pending_debounce_survives_a_restart() -> None:
    engine = default_engine()
    engine.evaluate(Feed()("device.offline", {}, device="pad-1"))
    blob = engine.dump_state()
    restarted = default_engine()
    restarted.load_state(blob)
    out = restarted.tick(T0 + timedelta(minutes=11))
    assert [a["subject"] for a in alerts(out)] == ["device:pad-1"]


def test_dedupe_survives_a_restart() -> None:
    engine = default_engine()
    seen = {"customer_ref": "c1", "vip": True}
    feed = Feed()
    assert commands(engine.evaluate(feed("customer.recognized", seen)).outputs)
    restarted = default_engine()
    restarted.load_state(engine.dump_state())
    assert commands(restarted.evaluate(feed("customer.recognized", seen, at=60)).outputs) == []


def test_replace_keeps_state_of_unchanged_ids_and_resets_changed_windows(tmp_path: Path) -> None:
    engine = RuleEngine(ruleset_from(tmp_path, WINDOWED), TZ, GROUPS)
    feed = Feed()
    for i in range(3):
        engine.evaluate(feed("kiosk.payment", {"amount_cents": 100}, device="k1", at=i))
    # same ids, a different threshold: throttle and window kept
    engine.replace(ruleset_from(tmp_path, WINDOWED.replace("n >= 3", "n >= 2")))
    assert (
        alerts(
            engine.evaluate(feed("kiosk.payment", {"amount_cents": 1}, device="k1", at=5)).outputs
        )
        == []
    )
    assert engine.traces("busy-kiosk")[-1]["result"] == "suppressed:throttle"
    assert engine.traces("busy-kiosk")[-1]["values"]["n"] == 4
    # the window now counts something else: its old values are dropped
    changed = WINDOWED.replace("value: data.amount_cents", 'value: "1"').replace("n >= 3", "n >= 1")
    engine.replace(ruleset_from(tmp_path, changed))
    engine.evaluate(feed("kiosk.payment", {"amount_cents": 1}, device="k1", at=6))
    assert engine.traces("busy-kiosk")[-1]["values"]["n"] == 1
    # a rule that is gone loses its traces
    engine.replace(ruleset_from(tmp_path, WINDOWED.replace("id: busy-kiosk", "id: busy-kiosk-2")))
    assert engine.traces("busy-kiosk") == []


def test_unreadable_blobs_raise_store_error() -> None:
    engine = default_engine()
    with pytest.raises(StoreError):
        engine.load_state(b"not json")
    with pytest.raises(StoreError):
        engine.load_state(b'{"v": 99}')
    with pytest.raises(StoreError):
        engine.load_state(b'{"v": 1, "values": 5}')
    with pytest.raises(StoreError):
        engine.load_state(b'{"v": 1, "rules": {"vip-welcome": {"dedupe": {"c1": "soon"}}}}')


def test_load_state_keeps_traces_of_rules_it_does_not_run() -> None:
    engine = default_engine()
    engine.evaluate(Feed()("rating.submitted", {"counter": 3, "level": 1}))
    reader = RuleEngine(RuleSet.empty(), TZ, {})
    reader.load_state(engine.dump_state())
    assert reader.traces("rating-low")[0]["result"] == "fired"
    assert "rating-low" in reader.traced_ids()
