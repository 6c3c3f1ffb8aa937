"""Every config mistake an installer can make: a message naming file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli import app
from edge.config import load
from edge.errors import ConfigError

GOOD = """
[hall]
id = "demo-hall"
[hall_broker]
url = "mqtt://127.0.0.1:1883"
[cloud]
url = "mqtt://127.0.0.1:1884"
[store]
path = "hall.db"
[[devices]]
id = "pad-1"
profile = "generic-mqtt"
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "hall.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_the_issue_example_loads(tmp_path: Path) -> None:
    cfg = load(_write(tmp_path, GOOD))
    assert cfg.hall.id == "demo-hall"
    assert cfg.cloud.url == "mqtt://127.0.0.1:1884"
    assert cfg.devices[0].profile == "generic-mqtt"
    assert cfg.resolve(cfg.store.path) == tmp_path / "hall.db"


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        (("[hall]\nid", "[hall]\nidd"), "hall.idd", "only known keys"),
        (('id = "demo-hall"', 'id = "demo/hall"'), "hall.id", "without / + #"),
        (('id = "demo-hall"', "id = 7"), "hall.id", "type str"),
        (('url = "mqtt://127.0.0.1:1884"', 'url = "http://x"'), "cloud.url", "broker URL"),
        (('url = "mqtt://127.0.0.1:1884"', 'url = "mqtt://h:99999"'), "cloud.url", "port number"),
        (('[cloud]\nurl = "mqtt://127.0.0.1:1884"', "[cloud]"), "cloud.url", "required"),
        (
            ('path = "hall.db"', 'path = "hall.db"\nsynchronous = "fast"'),
            "store.synchronous",
            "full",
        ),
        (
            (
                '[cloud]\nurl = "mqtt://127.0.0.1:1884"',
                '[cloud]\nurl = "mqtt://127.0.0.1:1884"\nwindow = 0',
            ),
            "cloud.window",
            "1 to 65535",
        ),
        (
            (
                '[cloud]\nurl = "mqtt://127.0.0.1:1884"',
                '[cloud]\nurl = "mqtt://127.0.0.1:1884"\nca = "missing.pem"',
            ),
            "cloud.ca",
            "an existing file",
        ),
        (
            ('[hall]\nid = "demo-hall"', '[hall]\nid = "demo-hall"\ntimezone = "Mars/Olympus"'),
            "hall.timezone",
            "IANA time zone",
        ),
        (('id = "pad-1"', 'id = "hub"'), "devices[0].id", "other than 'hub'"),
        (
            (
                'profile = "generic-mqtt"',
                'profile = "generic-mqtt"\n[[devices]]\nid = "pad-1"\nprofile = "generic-mqtt"',
            ),
            "devices[1].id",
            "one device only",
        ),
        (('profile = "generic-mqtt"', ""), "devices[0].profile", "required"),
    ],
)
def test_each_mistake_names_file_key_and_expectation(
    tmp_path: Path, change: tuple[str, str], key: str, expected: str
) -> None:
    old, new = change
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: expected"), message
    assert expected in message, message


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hall\.toml: expected valid TOML"):
        load(_write(tmp_path, "[hall\nid = 1"))
    with pytest.raises(ConfigError, match="expected a readable TOML file"):
        load(tmp_path / "nope.toml")


def test_unknown_profile_is_named_with_the_known_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('profile = "generic-mqtt"', 'profile = "acme-9000"'))
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    out = result.output
    assert "devices[0] (pad-1).profile" in out and "acme-9000" in out and "generic-mqtt" in out


def test_config_check_summarises_a_good_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["config", "check", str(_write(tmp_path, GOOD))])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output and "1 generic" in result.output and "rules:" in result.output


def test_run_fails_with_one_line_on_a_bad_config(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('url = "mqtt://127.0.0.1:1884"', 'url = "ftp://x"'))
    result = CliRunner().invoke(app, ["run", "-c", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "cloud.url" in lines[0]
