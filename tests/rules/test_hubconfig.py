"""Building the engine from the hub config; the [rules] section."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import parse
from edge.errors import ConfigError
from edge.rules.hubconfig import device_groups, engine_for, rule_paths
from tests.rules.helpers import Feed, commands, write

BASE = {
    "hall": {"id": "h1", "timezone": "Asia/Shanghai"},
    "hall_broker": {"url": "mqtt://127.0.0.1:1"},
    "cloud": {"url": "mqtt://127.0.0.1:2"},
    "devices": [
        {"id": "screen-a", "profile": "p", "group": "hall-screens"},
        {"id": "screen-b", "profile": "p", "group": "hall-screens"},
        {"id": "voice-a", "profile": "p", "group": "hall-voice"},
        {"id": "kiosk-1", "profile": "p"},
    ],
}


def test_rules_section_defaults_and_validation() -> None:
    cfg = parse(dict(BASE))
    r = cfg.rules
    assert (r.enabled, r.builtin, r.paths, r.params, r.watch, r.trace_depth) == (
        True,
        True,
        [],
        {},
        True,
        20,
    )
    with pytest.raises(ConfigError) as info:
        parse({**BASE, "rules": {"trace_depth": 0}}, "hall.toml")
    assert info.value.key == "rules.trace_depth"
    with pytest.raises(ConfigError) as info:
        parse({**BASE, "rules": {"path": ["x"]}}, "hall.toml")
    assert info.value.key == "rules.path"


def test_groups_paths_and_engine(tmp_path: Path) -> None:
    write(
        tmp_path,
        "extra.yaml",
        """
        rules:
          - id: kiosk-fail
            description: d
            trigger: kiosk.payment
            when: data.result != 'ok'
            actions: [{alert: {message: x}}]
    """,
    )
    cfg = parse(
        {**BASE, "rules": {"paths": ["extra.yaml"], "params": {"hall_voice": "voice-a"}}},
        str(tmp_path / "hall.toml"),
        str(tmp_path),
    )
    assert device_groups(cfg) == {
        "hall-screens": frozenset({"screen-a", "screen-b"}),
        "hall-voice": frozenset({"voice-a"}),
    }
    assert rule_paths(cfg) == [tmp_path / "extra.yaml"]
    engine = engine_for(cfg)
    assert engine.ruleset.rule("kiosk-fail") is not None
    out = engine.evaluate(Feed()("queue.ticket.called", {"ticket_no": "A1", "counter": 2})).outputs
    assert sorted(c.device_id for c in commands(out)) == ["screen-a", "screen-b", "voice-a"]
