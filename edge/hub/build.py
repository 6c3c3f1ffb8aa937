"""Building a hub from its config: the core plus every part wired onto it."""

from __future__ import annotations

from edge.config import HubConfig
from edge.hub.app import Hub


async def build_hub(cfg: HubConfig) -> Hub:
    """A hub with every configured part attached, its state rebuilt from the journal."""
    hub = Hub(cfg)
    return hub


def check_config(cfg: HubConfig) -> list[str]:
    """Deeper checks than the schema (profiles, rules): raises EdgeError; returns notes."""
    return []
