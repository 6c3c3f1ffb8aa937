"""Building a hub from its config: the core plus every part wired onto it."""

from __future__ import annotations

from edge.config import HubConfig
from edge.drivers.profiles import ProfileSet, load_profiles
from edge.drivers.registry import build_codec, build_driver
from edge.hub.announce_check import check_one_announcer
from edge.hub.app import Hub
from edge.hub.devices_part import attach_devices
from edge.hub.rules_part import attach_rules
from edge.hub.services_part import attach_faces, attach_feedback, attach_kpi, attach_queue
from edge.rules.hubconfig import ruleset_for


def _profiles(cfg: HubConfig) -> ProfileSet:
    return load_profiles(cfg.resolve(cfg.profiles_dir) if cfg.profiles_dir else None)


async def build_hub(cfg: HubConfig) -> Hub:
    """A hub with every configured part attached, its state rebuilt from the journal."""
    profiles = _profiles(cfg)
    hub = Hub(cfg)
    attach_devices(hub, profiles)
    if cfg.rules.enabled:
        attach_rules(hub)
    attach_queue(hub)
    attach_kpi(hub)
    attach_feedback(hub)
    attach_faces(hub, profiles)
    return hub


def check_config(cfg: HubConfig) -> list[str]:
    """Deeper checks than the schema (profiles, device settings, rules): raises EdgeError."""
    notes: list[str] = []
    profiles = _profiles(cfg)
    kinds: dict[str, int] = {}
    for i, dev in enumerate(cfg.devices):
        profile = profiles.get_profile(dev.profile, cfg.source, f"devices[{i}] ({dev.id}).profile")
        # Builds nothing that runs: settings are validated the way the hub will read them.
        if (
            build_codec(dev, profile, cfg.source, f"devices[{i}] ({dev.id})") is None
            and profile.serial is not None
        ):
            build_driver(dev, profile, _NoPort(), file=cfg.source, where=f"devices[{i}] ({dev.id})")
        kinds[str(profile.kind)] = kinds.get(str(profile.kind), 0) + 1
    notes.append("devices: " + (", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"))
    if cfg.rules.enabled:
        rs = ruleset_for(cfg)
        check_one_announcer(cfg, rs)
        notes.append(f"rules: {len(rs.rules)} rules from {len(rs.files)} files")
    if cfg.queue.enabled and cfg.queue.services:
        notes.append(
            f"queue: {len(cfg.queue.services)} services, {len(cfg.queue.counters)} counters"
        )
    return notes


class _NoPort:
    """A HubPort for validation only: nothing is ever submitted through it."""

    def submit(self, event: object, on_committed: object = None) -> None:
        raise RuntimeError("validation port")

    def dead_letter(self, device_id: str, raw: bytes, where: str, reason: str) -> None:
        raise RuntimeError("validation port")

    def set_online(self, device_id: str, online: bool, reason: str = "") -> None:
        raise RuntimeError("validation port")

    def log_error(self, device_id: str, message: str) -> None:
        raise RuntimeError("validation port")
