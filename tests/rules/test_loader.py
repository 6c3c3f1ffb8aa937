"""Loading rule files: validation errors name the file, the line and the rule id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.rules.loader import DEFAULT_PACK, load_ruleset, rule_files
from tests.rules.helpers import ruleset_from, write

GOOD = """
params:
  bar: 3
rules:
  - id: low
    description: low rating
    trigger: rating.submitted
    when: data.level <= params.bar
    actions:
      - alert: {message: "低 {data.level}"}
"""


def error_of(tmp_path: Path, text: str, **params: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_ruleset([write(tmp_path, "rules.yaml", text)], params, builtin=False)
    return info.value


def test_a_good_file_compiles(tmp_path: Path) -> None:
    rs = ruleset_from(tmp_path, GOOD)
    assert [r.id for r in rs.rules] == ["low"]
    assert rs.params["bar"] == 3
    assert rs.rules[0].line == 4  # the `- id: low` line


def test_bad_condition_names_file_line_rule_and_field(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("data.level <= params.bar", "lvl <= 2"))
    assert err.file.endswith("rules.yaml")
    assert err.key == "line 7: rule low: when"
    assert "'lvl'" in err.expected
    assert "rules.yaml: line 7: rule low: when" in str(err)


def test_unknown_key_is_reported_at_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("    when:", "    wehn: x\n    when:")
    err = error_of(tmp_path, text)
    assert err.key == "line 7: rule low: wehn"
    assert "unknown" in err.expected


def test_missing_description_is_reported(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("    description: low rating\n", ""))
    assert "rule low" in err.key and "description" in err.key
    assert "required" in err.expected


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD + "  - id: [unclosed\n")
    assert err.key.startswith("line ")
    assert "valid YAML" in err.expected


def test_undeclared_param_in_template(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("低 {data.level}", "{params.nope}"))
    assert err.key == "line 9: rule low: actions[0].alert.message"
    assert "params.nope" in err.expected


def test_undeclared_param_in_condition(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("params.bar", "params.barr"))
    assert "params.barr" in err.expected


def test_unknown_window_in_condition(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("data.level <= params.bar", "avg('nope', 1) < 3"))
    assert "window" in err.expected and "nope" in err.expected


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os').system('true')",
        "data.__class__",
        "(lambda: 1)()",
        "open('/etc/passwd')",
        "x = 1",
        "data.level; 1",
        "data.level.__class__.__mro__",
    ],
)
def test_unsafe_or_invalid_conditions_are_refused_at_load(tmp_path: Path, condition: str) -> None:
    err = error_of(tmp_path, GOOD.replace("data.level <= params.bar", json.dumps(condition)))
    assert "rule low: when" in err.key


def test_duplicate_rule_id_across_files(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", GOOD)
    b = write(tmp_path, "b.yaml", GOOD.replace("params:\n  bar: 3\n", ""))
    with pytest.raises(ConfigError) as info:
        load_ruleset([a, b], {}, builtin=False)
    assert info.value.file.endswith("b.yaml")
    assert info.value.key == "line 2: rule low: id"
    assert "a.yaml line 4" in info.value.expected


def test_duplicate_param_across_files(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", GOOD)
    b = write(tmp_path, "b.yaml", "params:\n  bar: 4\n")
    with pytest.raises(ConfigError) as info:
        load_ruleset([a, b], {}, builtin=False)
    assert info.value.key == "line 2: params.bar"


def test_param_overrides_checked_by_name_and_type(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD, barr=2)
    assert err.file == "[rules.params]" and err.key == "barr"
    err = error_of(tmp_path, GOOD, bar="three")
    assert err.key == "bar" and "int" in err.expected
    rs = ruleset_from(tmp_path, GOOD, bar=2.5)
    assert rs.params["bar"] == 2.5


def test_mapping_params_merge_one_level(tmp_path: Path) -> None:
    rs = load_ruleset([], {"wait_norm_min": {"consultation": 10}}, builtin=True)
    assert rs.params["wait_norm_min"] == {"payment": 5, "consultation": 10}


def test_bad_duration_and_schedule(tmp_path: Path) -> None:
    text = GOOD.replace("    actions:", "    throttle: {period: 10 minutes}\n    actions:")
    err = error_of(tmp_path, text)
    assert err.key == "line 8: rule low: throttle.period"
    sched = """
    rules:
      - id: nightly
        description: x
        trigger: {schedule: "at 18:00"}
    """
    err = error_of(tmp_path, sched)
    assert err.key == "line 4: rule nightly: trigger.schedule"


def test_action_must_have_exactly_one_kind(tmp_path: Path) -> None:
    text = GOOD.replace(
        '      - alert: {message: "低 {data.level}"}', "      - {drop: true, forward: true}"
    )
    err = error_of(tmp_path, text)
    assert "actions[0]" in err.key and "exactly one" in err.expected
    text = GOOD.replace('      - alert: {message: "低 {data.level}"}', "      - dorp")
    assert "actions[0]" in error_of(tmp_path, text).key


def test_bad_placeholder_is_refused(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("低 {data.level}", "低 {data.level"))
    assert "alert.message" in err.key
    err = error_of(tmp_path, GOOD.replace("低 {data.level}", "{data.__class__}"))
    assert "alert.message" in err.key


def test_folder_paths_and_missing_paths(tmp_path: Path) -> None:
    folder = tmp_path / "rules.d"
    folder.mkdir()
    write(
        folder,
        "b.yml",
        GOOD.replace("id: low", "id: low-b")
        .replace("  bar: 3\n", "  bar2: 3\n")
        .replace("params.bar", "params.bar2"),
    )
    write(folder, "a.yaml", GOOD)
    write(folder, "notes.txt", "not rules")
    files = rule_files([folder], builtin=False)
    assert [f.name for f in files] == ["a.yaml", "b.yml"]
    rs = load_ruleset([folder], {}, builtin=False)
    assert {r.id for r in rs.rules} == {"low", "low-b"}
    with pytest.raises(ConfigError) as info:
        load_ruleset([tmp_path / "missing.yaml"], {}, builtin=False)
    assert "existing rule file" in info.value.expected


def test_disabled_rules_are_checked_but_not_loaded(tmp_path: Path) -> None:
    rs = ruleset_from(tmp_path, GOOD.replace("    trigger:", "    enabled: false\n    trigger:"))
    assert rs.rules == ()
    with pytest.raises(ConfigError):
        ruleset_from(
            tmp_path,
            GOOD.replace("    trigger:", "    enabled: false\n    trigger:").replace(
                "params.bar", "params.zzz"
            ),
        )


def test_the_default_pack_loads_and_has_every_rule_of_the_issue() -> None:
    rs = load_ruleset([], {}, builtin=True)
    ids = {r.id for r in rs.rules}
    assert ids == {
        "call-announce",
        "queue-waiting-high",
        "queue-wait-too-long",
        "rating-low",
        "rating-average-low",
        "vip-welcome",
        "printer-paper-near-end",
        "printer-paper-end",
        "printer-cutter-error",
        "device-offline",
        "occupancy-high",
    }
    assert all(r.description for r in rs.rules)
    assert sorted(p.name for p in DEFAULT_PACK.glob("*.yaml")) == [
        "devices.yaml",
        "queue.yaml",
        "ratings.yaml",
        "vip.yaml",
    ]
