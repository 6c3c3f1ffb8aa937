"""`[queue] displays` and the rule call-announce's `hall-screens` group never both announce
the same call: the config check (`config check` and `run`) refuses it, naming both keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load
from edge.errors import ConfigError
from edge.hub.build import check_config

BASE = """
[hall]
id = "h1"
[hall_broker]
url = "mqtt://127.0.0.1:1"
[cloud]
url = "mqtt://127.0.0.1:2"

[[devices]]
id = "window-1"
profile = "call-display-485"
settings = {{ port = "/dev/ttyUSB1" }}

[[devices]]
id = "hall-screen"
profile = "call-display-485"
group = "{group}"
settings = {{ port = "/dev/ttyUSB2" }}

[queue]
displays = [{displays}]
{voices}
[[queue.services]]
code = "payment"
letter = "A"
name_zh = "缴费"

[[queue.counters]]
number = 1
services = ["payment"]
displays = ["window-1"]
{rules}
"""


def _cfg(tmp_path: Path, group: str, displays: str, voices: str = "", rules: str = "") -> Path:
    p = tmp_path / "hall.toml"
    p.write_text(BASE.format(group=group, displays=displays, voices=voices, rules=rules))
    return p


def test_a_hall_screen_in_both_queue_displays_and_the_rule_group_is_refused(
    tmp_path: Path,
) -> None:
    cfg = load(_cfg(tmp_path, "hall-screens", '"hall-screen"'))
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    msg = str(err.value)
    assert err.value.key == "queue.displays[0]"
    assert "call-announce" in msg and "[rules.params] hall_screens = 'group:hall-screens'" in msg
    assert "devices[1] (hall-screen).group = 'hall-screens'" in msg
    assert "announced twice" in msg


def test_a_voice_in_both_queue_voices_and_the_rule_target_is_refused(tmp_path: Path) -> None:
    rules = '[rules.params]\nhall_voice = "hall-screen"\n'
    cfg = load(_cfg(tmp_path, "", "", voices='voices = ["hall-screen"]', rules=rules))
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert err.value.key == "queue.voices[0]"
    assert "[rules.params] hall_voice = 'hall-screen'" in str(err.value)


def test_one_owner_each_passes(tmp_path: Path) -> None:
    # The documented split: the rule pack owns the hall screen, the queue the window screen.
    check_config(load(_cfg(tmp_path, "hall-screens", "")))
    # Or the queue owns it, outside the rule's group.
    check_config(load(_cfg(tmp_path, "", '"hall-screen"')))
    # Or the rules are off.
    check_config(
        load(_cfg(tmp_path, "hall-screens", '"hall-screen"', rules="[rules]\nenabled = false\n"))
    )
