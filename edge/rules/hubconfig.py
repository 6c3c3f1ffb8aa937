"""Building the rules engine from the hub config (used by the hub and the CLI)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from edge.config import HubConfig
from edge.rules.engine import RuleEngine
from edge.rules.loader import load_ruleset
from edge.rules.ruleset import RuleSet


def device_groups(cfg: HubConfig) -> dict[str, frozenset[str]]:
    """Device ids per `group` of the `[[devices]]` entries (devices without a group: none)."""
    groups: dict[str, set[str]] = {}
    for dev in cfg.devices:
        if dev.group:
            groups.setdefault(dev.group, set()).add(dev.id)
    return {name: frozenset(ids) for name, ids in groups.items()}


def rule_paths(cfg: HubConfig) -> list[Path]:
    """`[rules] paths`, resolved against the config file's folder."""
    return [cfg.resolve(p) for p in cfg.rules.paths]


def ruleset_for(cfg: HubConfig) -> RuleSet:
    """Load the rule files the config names; ConfigError naming file, line and rule."""
    return load_ruleset(rule_paths(cfg), cfg.rules.params, cfg.rules.builtin)


def engine_for(cfg: HubConfig, ruleset: RuleSet | None = None) -> RuleEngine:
    """A RuleEngine for this hall: its time zone, device groups and trace depth."""
    return RuleEngine(
        ruleset if ruleset is not None else ruleset_for(cfg),
        ZoneInfo(cfg.hall.timezone),
        device_groups(cfg),
        cfg.rules.trace_depth,
    )
