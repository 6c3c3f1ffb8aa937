"""The [queue] config section: defaults, structure errors, cross-reference errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from edge.config.queue import QueueSection, check
from edge.config.schema import convert
from edge.errors import ConfigError
from tests.queue.hall import COUNTERS, SERVICES


def _data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "services": copy.deepcopy(SERVICES),
        "counters": copy.deepcopy(COUNTERS),
    }
    data.update(overrides)
    return data


def _load(data: dict[str, Any], devices: list[str] | None = None) -> QueueSection:
    section = convert(data, QueueSection, "hall.toml", "queue")
    check(section, "hall.toml", devices)
    return section


def test_defaults_make_an_empty_valid_section() -> None:
    section = QueueSection()
    check(section, "hall.toml")
    assert section.services == () and section.recalls == 2 and section.repeat_guard_s == 2.0
    assert section.call_text.format(ticket="A012", counter=3) == "请A012号到3号窗口办理业务"


def test_a_full_section_loads_with_lookups() -> None:
    section = _load(_data(opening_hours={"open": "08:30", "close": "17:00", "days": [1, 2, 3]}))
    assert section.service("invoice") is not None and section.service("invoice").letter == "D"  # type: ignore[union-attr]
    counter = section.counter(3)
    assert counter is not None and counter.services[0] == "new_install"
    assert section.counter(99) is None and section.opening_hours.days == (1, 2, 3)


@pytest.mark.parametrize(
    ("mutate", "key", "expected"),
    [
        (
            lambda d: d["counters"][2]["services"].__setitem__(0, "pension"),
            "queue.counters[2].services[0]",
            "a service code defined in queue.services",
        ),
        (
            lambda d: d["counters"][1].__setitem__("number", 1),
            "queue.counters[1].number",
            "a number used by one counter only",
        ),
        (
            lambda d: d["services"][1].__setitem__("letter", "A"),
            "queue.services[1].letter",
            "a letter used by one service only",
        ),
        (
            lambda d: d["services"][0].__setitem__("letter", "a1"),
            "queue.services[0].letter",
            "one capital letter A-Z",
        ),
        (
            lambda d: d["services"][0].__setitem__("code", "Payment!"),
            "queue.services[0].code",
            "a code of lower-case letters",
        ),
        (
            lambda d: d["services"].append({"code": "pension", "letter": "P", "name_zh": "养老"}),
            "queue.services[5].code",
            "a service that at least one counter serves",
        ),
        (
            lambda d: d["counters"][0].__setitem__("services", []),
            "queue.counters[0].services",
            "at least one service code",
        ),
        (
            lambda d: d["counters"][0].__setitem__("services", ["payment", "payment"]),
            "queue.counters[0].services[1]",
            "each service once per counter",
        ),
        (
            lambda d: d.__setitem__("opening_hours", {"open": "8:30"}),
            "queue.opening_hours.open",
            'a 24-hour time "HH:MM"',
        ),
        (
            lambda d: d.__setitem__("opening_hours", {"open": "18:00", "close": "17:00"}),
            "queue.opening_hours.close",
            "a time after opening_hours.open",
        ),
        (
            lambda d: d.__setitem__("opening_hours", {"last_ticket": "18:00"}),
            "queue.opening_hours.last_ticket",
            "a time after open and not after close",
        ),
        (
            lambda d: d.__setitem__("opening_hours", {"days": [0, 8]}),
            "queue.opening_hours.days",
            "ISO weekdays",
        ),
        (
            lambda d: d.__setitem__("reset_at", "12:00"),
            "queue.reset_at",
            "a time outside opening hours",
        ),
        (
            lambda d: d.__setitem__("priority", {"classes": ["elderly", "pregnant"]}),
            "queue.priority.classes[1]",
            "one of elderly, disabled, appointment, vip",
        ),
        (
            lambda d: d.__setitem__("priority", {"max_in_row": 0}),
            "queue.priority.max_in_row",
            "at least 1",
        ),
        (
            lambda d: d.__setitem__("rating_timeout_s", 0),
            "queue.rating_timeout_s",
            "a number of at least 1",
        ),
        (
            lambda d: d.__setitem__("call_text", "请{number}号"),
            "queue.call_text",
            "placeholders are {ticket} and {counter}",
        ),
        (
            lambda d: d["services"][0].__setitem__("norm_min", 0),
            "queue.services[0].norm_min",
            "minutes above 0",
        ),
    ],
)
def test_check_names_the_key_and_the_expectation(mutate: Any, key: str, expected: str) -> None:
    data = _data()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        _load(data)
    assert err.value.file == "hall.toml"
    assert err.value.key == key
    assert expected in err.value.expected


def test_structure_errors_name_the_queue_key() -> None:
    data = _data()
    data["counters"][4]["rating_pd"] = "pad-5"
    with pytest.raises(ConfigError) as err:
        _load(data)
    assert err.value.key == "queue.counters[4].rating_pd"
    assert "unknown" in str(err.value)


def test_devices_must_exist_when_the_device_list_is_given() -> None:
    data = _data(voices=["hall-voice"])
    section = _load(data)  # no device list: references are not checked
    known = {f"caller-{n}" for n in range(1, 7)} | {f"pad-{n}" for n in range(1, 7)}
    known |= {"window-1", "window-2"}
    with pytest.raises(ConfigError) as err:
        check(section, "hall.toml", known)
    assert err.value.key == "queue.voices[0]"
    assert err.value.got == "hall-voice"
    check(section, "hall.toml", known | {"hall-voice"})
