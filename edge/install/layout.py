"""Where an installed hub's files live, relative to a root (`/` on a box, a temp dir in tests).

`hall-edge install` writes these paths and `hall-edge doctor` checks them: both take them from
here, so that the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import overload

# The names on a real box, relative to `/`.
ETC = Path("etc/hall-edge")
STATE = Path("var/lib/hall-edge")
BROKER_STATE = Path("var/lib/mosquitto-hall")
UNITS = Path("etc/systemd/system")
UDEV_RULES = Path("etc/udev/rules.d/70-hall-edge.rules")
BIN = Path("usr/local/bin/hall-edge")

HUB_UNIT = "hall-edge.service"
BROKER_UNIT = "mosquitto-hall.service"
HUB_USER = "hall-edge"
HUB_GROUPS = ("dialout",)
BROKER_USER = "mosquitto"
DEV_HALL = Path("/dev/hall")  # udev symlinks /dev/hall/{device id}: never staged

# Modes: the config and broker files hold secrets (passwords, TLS keys).
ETC_MODE = 0o751  # o+x: the broker (user mosquitto) reads its files in it
STATE_MODE = 0o750
CONFIG_MODE = 0o640
PASSWD_MODE = 0o640  # group mosquitto: the broker reads it
SECRETS_MODE = 0o600  # the clear passwords, for the installer only


class _Path:
    """One path of a Layout: `rel` below its root, or below another of its paths."""

    def __init__(self, rel: str | Path, under: _Path | None = None) -> None:
        self.rel = Path(rel)
        self.under = under

    @overload
    def __get__(self, layout: None, owner: object = None) -> _Path: ...
    @overload
    def __get__(self, layout: Layout, owner: object = None) -> Path: ...
    def __get__(self, layout: Layout | None, owner: object = None) -> Path | _Path:
        if layout is None:
            return self  # looked up on the class (help(), introspection)
        base = layout.root if self.under is None else self.under.__get__(layout)
        return base / self.rel


@dataclass(frozen=True)
class Layout:
    """Every path of an installed box under `root`."""

    root: Path = Path("/")

    etc = _Path(ETC)
    certs = _Path("certs", etc)
    rules_dir = _Path("rules.d", etc)
    config = _Path("hall.toml", etc)
    broker_conf = _Path("mosquitto-hall.conf", etc)
    broker_acl = _Path("mosquitto-hall.acl", etc)
    broker_passwd = _Path("mosquitto.passwd", etc)
    # The clear passwords of the broker's accounts, root only, for the installer.
    broker_secrets = _Path("broker-passwords.txt", etc)
    face_key = _Path("faces.key", etc)
    broker_pid = _Path("run/mosquitto-hall.pid")
    state = _Path(STATE)
    journal = _Path("hall.db", state)
    vault = _Path("faces.db", state)
    broker_state = _Path(BROKER_STATE)
    units = _Path(UNITS)
    hub_unit = _Path(HUB_UNIT, units)
    broker_unit = _Path(BROKER_UNIT, units)
    udev_rules = _Path(UDEV_RULES)
    bin = _Path(BIN)

    @property
    def staged(self) -> bool:
        """Installing into a staged tree: no useradd, systemctl or udevadm on the real system."""
        return self.root.resolve() != Path("/")


__all__ = ["Layout"]
