"""Where an installed hub's files live, relative to a root (`/` on a box, a temp dir in tests).

`hall-edge install` writes these paths and `hall-edge doctor` checks them: both take them from
here, so that the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
SCREEN_USER = "hall-screen"
DEV_HALL = Path("/dev/hall")  # udev symlinks /dev/hall/{device id}: never staged

# Modes: the config and broker files hold secrets (passwords, TLS keys).
ETC_MODE = 0o751  # o+x: the broker (user mosquitto) reads its files in it
STATE_MODE = 0o750
CONFIG_MODE = 0o640
PASSWD_MODE = 0o640  # group mosquitto: the broker reads it
SECRETS_MODE = 0o600  # the clear passwords, for the installer only


@dataclass(frozen=True)
class Layout:
    """Every path of an installed box under `root`."""

    root: Path = Path("/")

    def _at(self, rel: Path) -> Path:
        return self.root / rel

    @property
    def etc(self) -> Path:
        return self._at(ETC)

    @property
    def certs(self) -> Path:
        return self.etc / "certs"

    @property
    def rules_dir(self) -> Path:
        return self.etc / "rules.d"

    @property
    def config(self) -> Path:
        return self.etc / "hall.toml"

    @property
    def broker_conf(self) -> Path:
        return self.etc / "mosquitto-hall.conf"

    @property
    def broker_acl(self) -> Path:
        return self.etc / "mosquitto-hall.acl"

    @property
    def broker_passwd(self) -> Path:
        return self.etc / "mosquitto.passwd"

    @property
    def broker_secrets(self) -> Path:
        """The clear passwords of the broker's accounts, root only, for the installer."""
        return self.etc / "broker-passwords.txt"

    @property
    def broker_pid(self) -> Path:
        return self._at(Path("run/mosquitto-hall.pid"))

    @property
    def state(self) -> Path:
        return self._at(STATE)

    @property
    def journal(self) -> Path:
        return self.state / "hall.db"

    @property
    def vault(self) -> Path:
        return self.state / "faces.db"

    @property
    def face_key(self) -> Path:
        return self.etc / "faces.key"

    @property
    def broker_state(self) -> Path:
        return self._at(BROKER_STATE)

    @property
    def units(self) -> Path:
        return self._at(UNITS)

    @property
    def hub_unit(self) -> Path:
        return self.units / HUB_UNIT

    @property
    def broker_unit(self) -> Path:
        return self.units / BROKER_UNIT

    @property
    def udev_rules(self) -> Path:
        return self._at(UDEV_RULES)

    @property
    def bin(self) -> Path:
        return self._at(BIN)

    @property
    def staged(self) -> bool:
        """Installing into a staged tree: no useradd, systemctl or udevadm on the real system."""
        return self.root.resolve() != Path("/")


__all__ = ["Layout"]
