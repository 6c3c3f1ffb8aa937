"""Building a hub from its config: the core plus every part wired onto it."""

from __future__ import annotations

from edge.config import HubConfig
from edge.hub.app import Hub
from edge.hub.rules_part import attach_rules
from edge.rules.hubconfig import ruleset_for


async def build_hub(cfg: HubConfig) -> Hub:
    """A hub with every configured part attached, its state rebuilt from the journal."""
    hub = Hub(cfg)
    if cfg.rules.enabled:
        attach_rules(hub)
    return hub


def check_config(cfg: HubConfig) -> list[str]:
    """Deeper checks than the schema (profiles, rules): raises EdgeError; returns notes."""
    notes: list[str] = []
    if cfg.rules.enabled:
        rs = ruleset_for(cfg)
        notes.append(f"rules: {len(rs.rules)} rules from {len(rs.files)} files")
    return notes
