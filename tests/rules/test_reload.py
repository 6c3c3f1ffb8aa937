"""Hot reload: reload() keeps old rules on a bad change; the watcher sees file edits."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.rules.engine import RuleEngine, reload
from edge.rules.loader import load_ruleset
from edge.rules.watch import RuleFilesWatcher
from tests.rules.helpers import GROUPS, TZ, Feed, alerts, write

V1 = """
rules:
  - id: low
    description: low rating
    trigger: rating.submitted
    when: data.level <= 2
    actions: [{alert: {message: "v1"}}]
"""


def test_reload_applies_a_good_change(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", V1)
    engine = RuleEngine(load_ruleset([path], {}, builtin=False), TZ, GROUPS)
    write(tmp_path, "r.yaml", V1.replace("v1", "v2"))
    assert reload(engine, [path], {}, builtin=False) == []
    out = engine.evaluate(Feed()("rating.submitted", {"level": 1})).outputs
    assert [a["message"] for a in alerts(out)] == ["v2"]


def test_reload_keeps_old_rules_and_alerts_on_a_bad_change(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", V1)
    engine = RuleEngine(load_ruleset([path], {}, builtin=False), TZ, GROUPS)
    write(tmp_path, "r.yaml", V1.replace("data.level <= 2", "data.level <="))
    (alert,) = reload(engine, [path], {}, builtin=False)
    assert alert.type == "alert.raised" and alert.device_id == "hub"  # type: ignore[union-attr]
    data = alert.data  # type: ignore[union-attr]
    assert data["rule"] == "rules.reload" and data["severity"] == "warning"
    assert "r.yaml: line 5: rule low: when" in data["message"]
    assert data["message"].startswith("规则文件有误，继续使用原有规则")
    out = engine.evaluate(Feed()("rating.submitted", {"level": 1})).outputs
    assert [a["message"] for a in alerts(out)] == ["v1"]


def test_watcher_calls_back_when_a_rule_file_changes(tmp_path: Path) -> None:
    folder = tmp_path / "rules.d"
    folder.mkdir()
    single = write(tmp_path, "single.yaml", V1)
    write(tmp_path, "unrelated.yaml", V1)

    async def scenario() -> list[str]:
        watcher = RuleFilesWatcher([folder, single], debounce_ms=50)
        seen: list[str] = []
        changed = asyncio.Event()

        def on_change() -> None:
            seen.append("change")
            changed.set()

        task = asyncio.create_task(watcher.run(on_change))
        await asyncio.sleep(0.3)  # let the watcher start
        (tmp_path / "unrelated.yaml").write_text(V1 + "\n", encoding="utf-8")
        (folder / "notes.txt").write_text("x", encoding="utf-8")
        await asyncio.sleep(0.4)
        assert seen == []  # neither file is a watched rule file
        write(folder, "new.yaml", V1)
        await asyncio.wait_for(changed.wait(), timeout=5)
        changed.clear()
        single.write_text(V1.replace("v1", "v3"), encoding="utf-8")
        await asyncio.wait_for(changed.wait(), timeout=5)
        watcher.stop()
        await asyncio.wait_for(task, timeout=5)
        return seen

    assert len(asyncio.run(scenario())) >= 2
