"""The config: valid as `config check` sees it (schema, checks, profiles, device settings)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from edge.config import HubConfig, load
from edge.config.schema import convert
from edge.doctor.context import Context
from edge.doctor.result import Check, fail, ok
from edge.drivers.device_settings import device_settings
from edge.drivers.profiles import ProfileSet, load_profiles
from edge.errors import EdgeError


def _shape_only(path: Path) -> HubConfig | None:
    """The config without its semantic checks, so one mistake does not hide the rest."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
        return convert(
            {**data, "base_dir": str(path.resolve().parent), "source": str(path)},
            HubConfig,
            str(path),
        )
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, EdgeError):
        return None


def profiles_of(cfg: HubConfig) -> ProfileSet:
    return load_profiles(cfg.resolve(cfg.profiles_dir) if cfg.profiles_dir else None)


def check_config(ctx: Context) -> Check:
    path = ctx.config_path
    hint = f"correct the key named, then `hall-edge config check {path}`"
    if not path.exists():
        hint = "hall-edge install writes one (or give --config FILE)"
    try:
        cfg = load(path)
    except EdgeError as exc:
        ctx.cfg = _shape_only(path)
        return fail("config", str(exc), hint)
    ctx.cfg = cfg
    try:
        profiles = profiles_of(cfg)
        for i, dev in enumerate(cfg.devices):
            where = f"devices[{i}]"
            profile = profiles.get_profile(dev.profile, cfg.source, f"{where}.profile")
            device_settings(dev, profile, cfg.source, where)
    except EdgeError as exc:
        return fail("config", str(exc), hint)
    return ok("config", f"{path}: hall {cfg.hall.id}, {len(cfg.devices)} devices")
