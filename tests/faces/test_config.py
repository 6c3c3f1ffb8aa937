"""The [faces] config section: defaults and installer-grade errors."""

from __future__ import annotations

from typing import Any

import pytest

from edge.config import parse
from edge.config.faces import FacesSection
from edge.errors import ConfigError

BASE: dict[str, Any] = {
    "hall": {"id": "hall-1"},
    "hall_broker": {"url": "mqtt://127.0.0.1:1883"},
    "cloud": {"url": "mqtt://127.0.0.1:1884"},
}


def test_defaults_are_off_and_conservative() -> None:
    f = parse(BASE).faces
    assert f == FacesSection()
    assert f.enabled is False
    assert (f.vault_path, f.key_path, f.tolerance, f.upsample, f.workers) == (
        "faces.db",
        "faces.key",
        0.6,
        0,
        1,
    )
    assert (f.visit_gap_min, f.footfall_interval_s, f.erase_check_interval_s) == (120.0, 60, 3600.0)
    assert (f.downscale, f.detect_width) == (640, 320)


def test_values_are_read() -> None:
    f = parse(
        {
            **BASE,
            "faces": {
                "enabled": True,
                "tolerance": 0.5,
                "downscale": 1280,
                "upsample": 1,
                "detect_width": 0,
            },
        }
    ).faces
    assert (f.enabled, f.tolerance, f.downscale, f.upsample, f.detect_width) == (
        True,
        0.5,
        1280,
        1,
        0,
    )


@pytest.mark.parametrize(
    ("faces", "key", "words"),
    [
        ({"tolerance": 6}, "faces", "`tolerance` to be above 0 and at most 1 (got 6.0)"),
        ({"upsample": 3}, "faces", "`upsample` to be 0, 1 or 2"),
        (
            {"downscale": 100},
            "faces",
            "`downscale` to be 0 (off) or a width of at least 160 pixels",
        ),
        (
            {"detect_width": 120},
            "faces",
            "`detect_width` to be 0 (the downscaled frame) or a width of at least 160 pixels",
        ),
        ({"workers": 0}, "faces", "`workers` to be from 1 to 16"),
        ({"key_path": "faces.db"}, "faces", "`key_path` to be a file other than vault_path"),
        ({"tolerence": 0.6}, "faces.tolerence", "only known keys"),
        ({"tolerance": "close"}, "faces.tolerance", "a value of type float"),
    ],
)
def test_mistakes_name_file_and_key(faces: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse({**BASE, "faces": faces}, "hall.toml")
    assert info.value.file == "hall.toml"
    assert info.value.key == key
    assert words in str(info.value)
