"""The [queue] section of the hub config: services, counters, hours, priorities, timers.

Structural errors (wrong types, unknown keys) are caught by msgspec when the file is
converted; `check` then catches what a type cannot say: cross-references (a counter
serving a service that does not exist), clock times, ranges, duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import time

import msgspec

from edge.config.hub import Section
from edge.errors import ConfigError

PRIORITY_CLASSES = ("elderly", "disabled", "appointment", "vip")
"""Every ticket priority class except `normal`, in the words of the event catalogue."""

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LETTER = re.compile(r"^[A-Z]$")
_HHMM = re.compile(r"^(?P<h>[01]\d|2[0-3]):(?P<m>[0-5]\d)$")


class ServiceConf(Section, frozen=True):
    """One business type a customer can take a ticket for."""

    code: str  # payment, new_install, capacity_change, invoice, ...
    letter: str  # ticket letter: A -> A001
    name_zh: str
    name_en: str = ""
    norm_min: float = 10.0  # service norm; also the wait estimate before any service is timed


class CounterConf(Section, frozen=True):
    """One counter (window) of the hall and the devices at it."""

    number: int
    services: tuple[str, ...]  # service codes, most preferred first
    name: str = ""
    caller: str | None = None  # counter caller (呼叫器) device id
    rating_pad: str | None = None  # rating pad (评价器) device id
    displays: tuple[str, ...] = ()  # the counter's own window screen(s)


class OpeningHours(Section, frozen=True):
    open: str = "08:30"  # "HH:MM", hall time
    close: str = "17:30"
    last_ticket: str | None = None  # default: the closing time
    days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)  # ISO weekdays, 1 = Monday


class PrioritySettings(Section, frozen=True):
    """Which classes go first, and how many of them in a row before a normal ticket."""

    classes: tuple[str, ...] = PRIORITY_CLASSES  # honoured; others are served as normal
    max_in_row: int = 3  # per service: after this many priority calls a waiting normal goes


class QueueSection(Section, frozen=True):
    enabled: bool = True
    services: tuple[ServiceConf, ...] = ()
    counters: tuple[CounterConf, ...] = ()
    opening_hours: OpeningHours = msgspec.field(default_factory=OpeningHours)
    reset_at: str = "00:00"  # ticket numbers start again at A001 at this hall time
    priority: PrioritySettings = msgspec.field(default_factory=PrioritySettings)
    recalls: int = 2  # recalls allowed after the first call; one more recall is a no-show
    rating_timeout_s: float = 30.0
    repeat_guard_s: float = 2.0  # same press_id at the same counter within this: a duplicate
    status_min_interval_s: float = 5.0  # at most one queue.status per service this often
    estimate_window: int = 20  # recent service times averaged for the wait estimate
    call_text: str = "请{ticket}号到{counter}号窗口办理业务"
    voice_repeat: int = 2
    displays: tuple[str, ...] = ()  # hall call displays (叫号屏) that show every call
    voices: tuple[str, ...] = ()  # voice devices that announce every call

    def service(self, code: str) -> ServiceConf | None:
        """The service with this code, or None."""
        for s in self.services:
            if s.code == code:
                return s
        return None

    def counter(self, number: int) -> CounterConf | None:
        """The counter with this number, or None."""
        for c in self.counters:
            if c.number == number:
                return c
        return None


def clock_time(text: str) -> time:
    """Parse "HH:MM" (24 h) into a time; ValueError otherwise."""
    m = _HHMM.match(text)
    if m is None:
        raise ValueError(text)
    return time(int(m.group("h")), int(m.group("m")))


def check(section: QueueSection, file: str, device_ids: Collection[str] | None = None) -> None:
    """Raise ConfigError for what the types cannot say: references, clock times, ranges.

    With `device_ids` (the ids of the config's [[devices]]), the devices named by counters,
    displays and voices must be among them.
    """
    _check_services(section, file)
    _check_counters(section, file)
    _check_hours(section, file)
    _check_numbers(section, file)
    if device_ids is not None:
        _check_devices(section, file, device_ids)


def _check_services(section: QueueSection, file: str) -> None:
    codes: set[str] = set()
    letters: set[str] = set()
    for i, s in enumerate(section.services):
        key = f"queue.services[{i}]"
        if not _CODE.match(s.code):
            raise ConfigError(
                file,
                f"{key}.code",
                "a code of lower-case letters, digits and _ like new_install",
                s.code,
            )
        if s.code in codes:
            raise ConfigError(file, f"{key}.code", "a code used by one service only", s.code)
        if not _LETTER.match(s.letter):
            raise ConfigError(file, f"{key}.letter", "one capital letter A-Z", s.letter)
        if s.letter in letters:
            # Two services with one letter would print the same ticket number twice a day.
            raise ConfigError(file, f"{key}.letter", "a letter used by one service only", s.letter)
        if not s.name_zh.strip():
            raise ConfigError(file, f"{key}.name_zh", "the service's Chinese name", s.name_zh)
        if s.norm_min <= 0:
            raise ConfigError(file, f"{key}.norm_min", "minutes above 0", s.norm_min)
        codes.add(s.code)
        letters.add(s.letter)


def _check_counters(section: QueueSection, file: str) -> None:
    codes = {s.code for s in section.services}
    numbers: set[int] = set()
    served: set[str] = set()
    for i, c in enumerate(section.counters):
        key = f"queue.counters[{i}]"
        if c.number < 1:
            raise ConfigError(file, f"{key}.number", "a counter number from 1 up", c.number)
        if c.number in numbers:
            raise ConfigError(file, f"{key}.number", "a number used by one counter only", c.number)
        numbers.add(c.number)
        if not c.services:
            raise ConfigError(file, f"{key}.services", "at least one service code", [])
        for j, code in enumerate(c.services):
            if code not in codes:
                raise ConfigError(
                    file, f"{key}.services[{j}]", "a service code defined in queue.services", code
                )
            if code in c.services[:j]:
                raise ConfigError(
                    file, f"{key}.services[{j}]", "each service once per counter", code
                )
            served.add(code)
    for i, s in enumerate(section.services):
        if s.code not in served:
            # Its tickets would wait until the daily reset: catch it at install time.
            raise ConfigError(
                file,
                f"queue.services[{i}].code",
                "a service that at least one counter serves",
                s.code,
            )


def _check_hours(section: QueueSection, file: str) -> None:
    hours = section.opening_hours
    parsed: dict[str, time] = {}
    for name, value in (
        ("opening_hours.open", hours.open),
        ("opening_hours.close", hours.close),
        ("opening_hours.last_ticket", hours.last_ticket),
        ("reset_at", section.reset_at),
    ):
        if value is None:
            continue
        try:
            parsed[name] = clock_time(value)
        except ValueError:
            raise ConfigError(
                file, f"queue.{name}", 'a 24-hour time "HH:MM" like "08:30"', value
            ) from None
    if parsed["opening_hours.open"] >= parsed["opening_hours.close"]:
        raise ConfigError(
            file, "queue.opening_hours.close", "a time after opening_hours.open", hours.close
        )
    last = parsed.get("opening_hours.last_ticket")
    if (
        last is not None
        and not parsed["opening_hours.open"] < last <= parsed["opening_hours.close"]
    ):
        raise ConfigError(
            file,
            "queue.opening_hours.last_ticket",
            "a time after open and not after close",
            hours.last_ticket,
        )
    reset = parsed["reset_at"]
    if parsed["opening_hours.open"] <= reset < parsed["opening_hours.close"]:
        # A reset inside opening hours would renumber and abandon tickets of waiting people.
        raise ConfigError(file, "queue.reset_at", "a time outside opening hours", section.reset_at)
    if not hours.days or any(d not in range(1, 8) for d in hours.days):
        raise ConfigError(
            file,
            "queue.opening_hours.days",
            "ISO weekdays from 1 (Monday) to 7 (Sunday)",
            list(hours.days),
        )


def _check_numbers(section: QueueSection, file: str) -> None:
    prio = section.priority
    for i, cls in enumerate(prio.classes):
        if cls not in PRIORITY_CLASSES:
            raise ConfigError(
                file, f"queue.priority.classes[{i}]", f"one of {', '.join(PRIORITY_CLASSES)}", cls
            )
    if prio.max_in_row < 1:
        raise ConfigError(file, "queue.priority.max_in_row", "at least 1", prio.max_in_row)
    minimums: tuple[tuple[str, float, float], ...] = (
        ("recalls", section.recalls, 0),
        ("rating_timeout_s", section.rating_timeout_s, 1),
        ("repeat_guard_s", section.repeat_guard_s, 0),
        ("status_min_interval_s", section.status_min_interval_s, 0),
        ("estimate_window", section.estimate_window, 1),
        ("voice_repeat", section.voice_repeat, 1),
    )
    for name, value, least in minimums:
        if value < least:
            raise ConfigError(file, f"queue.{name}", f"a number of at least {least:g}", value)
    try:
        section.call_text.format(ticket="A001", counter=1)
    except (KeyError, IndexError, ValueError):
        raise ConfigError(
            file,
            "queue.call_text",
            "a text whose only placeholders are {ticket} and {counter}",
            section.call_text,
        ) from None


def _check_devices(section: QueueSection, file: str, device_ids: Collection[str]) -> None:
    refs: list[tuple[str, str | None]] = []
    for i, c in enumerate(section.counters):
        refs.append((f"queue.counters[{i}].caller", c.caller))
        refs.append((f"queue.counters[{i}].rating_pad", c.rating_pad))
        refs.extend((f"queue.counters[{i}].displays[{j}]", d) for j, d in enumerate(c.displays))
    refs.extend((f"queue.displays[{j}]", d) for j, d in enumerate(section.displays))
    refs.extend((f"queue.voices[{j}]", d) for j, d in enumerate(section.voices))
    for key, device_id in refs:
        if device_id is not None and device_id not in device_ids:
            raise ConfigError(file, key, "a device id defined in [[devices]]", device_id)
