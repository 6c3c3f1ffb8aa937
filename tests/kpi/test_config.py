"""The [kpi] config section: defaults, and installer-grade errors."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from edge.config import parse
from edge.config.kpi import KpiSection
from edge.errors import ConfigError

BASE: dict[str, Any] = {
    "hall": {"id": "h1"},
    "hall_broker": {"url": "mqtt://127.0.0.1:1883"},
    "cloud": {"url": "mqtt://127.0.0.1:1883"},
}


def with_kpi(kpi: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "kpi": kpi}


def test_defaults() -> None:
    kpi = parse(BASE, "hall.toml").kpi
    assert kpi == KpiSection()
    assert kpi.closing == time(18, 0) and kpi.model_window_time == time(6, 0)
    assert kpi.norm_s("payment") == 300.0
    assert [kpi.norm_s(s) for s in ("new_install", "capacity_change", "name_transfer")] == [
        1200.0
    ] * 3
    assert kpi.norm_s("anything_else") == 1200.0
    assert kpi.min_ratings == 30 and kpi.satisfied_levels == [4, 5] and kpi.poor_levels == [1, 2]
    assert kpi.channel_order() == ["counter", "kiosk", "wechat", "alipay", "unionpay"]


def test_settings_from_the_file() -> None:
    kpi = parse(
        with_kpi(
            {
                "closing_time": "17:30",
                "norms_min": {"payment": 4, "new_install": 30},
                "default_norm_min": 15,
                "min_ratings": 50,
                "kiosk_channels": {"wechat": "wechat", "ecny": "ecny"},
            }
        ),
        "hall.toml",
    ).kpi
    assert kpi.closing == time(17, 30)
    assert (kpi.norm_s("payment"), kpi.norm_s("new_install"), kpi.norm_s("invoice")) == (
        240.0,
        1800.0,
        900.0,
    )
    assert kpi.min_ratings == 50
    assert kpi.channel_order()[-1] == "ecny"  # a bucket without a display name still shows


@pytest.mark.parametrize(
    ("kpi", "where", "words"),
    [
        ({"closing_time": "25:00"}, "hall.toml: kpi", "closing_time"),
        ({"closing_time": "6pm"}, "hall.toml: kpi", "HH:MM"),
        ({"model_window_at": "6:00"}, "hall.toml: kpi", "model_window_at"),
        ({"colsing_time": "18:00"}, "hall.toml: kpi.colsing_time", "unknown"),
        ({"min_ratings": "thirty"}, "hall.toml: kpi.min_ratings", "int"),
        ({"min_ratings": 0}, "hall.toml: kpi", "min_ratings"),
        ({"norms_min": {"payment": 0}}, "hall.toml: kpi", "norms_min.payment"),
        ({"default_norm_min": -1}, "hall.toml: kpi", "default_norm_min"),
        ({"satisfied_levels": [4, 6]}, "hall.toml: kpi", "satisfied_levels"),
        ({"poor_levels": []}, "hall.toml: kpi", "poor_levels"),
        ({"satisfied_levels": [3, 4, 5], "poor_levels": [1, 2, 3]}, "hall.toml: kpi", "in common"),
        ({"kiosk_channels": {"cash": "counter"}}, "hall.toml: kpi", "kiosk_channels"),
    ],
)
def test_mistakes_name_the_file_the_key_and_the_expectation(
    kpi: dict[str, Any], where: str, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse(with_kpi(kpi), "hall.toml")
    message = str(info.value)
    assert message.startswith(where + ":")
    assert words in message and "expected" in message
