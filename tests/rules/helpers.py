"""Shared helpers of the rules tests: events, engines and rule files in a tmp dir."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.model import Command, Event, JournaledEvent, Output
from edge.rules.engine import RuleEngine
from edge.rules.loader import load_ruleset
from edge.rules.ruleset import RuleSet

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)  # a Friday
GROUPS = {
    "hall-screens": frozenset({"screen-1", "screen-2"}),
    "hall-voice": frozenset({"voice-1"}),
    "robots": frozenset({"robot-1"}),
}


class Feed:
    """Makes journaled events with rising seq; `at` is seconds after T0."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(
        self,
        etype: str,
        data: Mapping[str, Any] | None = None,
        device: str = "dev-1",
        at: float = 0.0,
        causation: int | None = None,
        replayed: bool = False,
    ) -> JournaledEvent:
        self.seq += 1
        return JournaledEvent(
            seq=self.seq,
            id=f"ev{self.seq}",
            type=etype,
            device_id=device,
            time=T0 + timedelta(seconds=at),
            data=dict(data or {}),
            causation=causation,
            replayed=replayed,
        )


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def ruleset_from(folder: Path, text: str, builtin: bool = False, **params: Any) -> RuleSet:
    return load_ruleset([write(folder, "rules.yaml", text)], params, builtin=builtin)


def engine_from(folder: Path, text: str, builtin: bool = False, **params: Any) -> RuleEngine:
    return RuleEngine(ruleset_from(folder, text, builtin, **params), TZ, GROUPS)


def one_rule_engine(folder: Path, rule: str) -> RuleEngine:
    """An engine with one rule, given as the YAML of its keys (its description added)."""
    keys = textwrap.indent(textwrap.dedent(rule).strip(), "    ")
    return engine_from(folder, f"rules:\n  - description: the rule under test\n{keys}\n")


def default_engine(**params: Any) -> RuleEngine:
    return RuleEngine(load_ruleset([], params, builtin=True), TZ, GROUPS)


def alerts(outputs: list[Output]) -> list[Mapping[str, Any]]:
    return [o.data for o in outputs if isinstance(o, Event) and o.type == "alert.raised"]


def commands(outputs: list[Output]) -> list[Command]:
    return [o for o in outputs if isinstance(o, Command)]
