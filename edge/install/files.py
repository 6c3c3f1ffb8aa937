"""The files `hall-edge install` writes, rendered for a layout: broker conf, units, wrapper, config.

The shipped originals live in the checkout's `systemd/` folder; what is rendered here changes
only what depends on where things are (paths under a staged root, the venv's entry point).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from edge.errors import EdgeError
from edge.install.layout import BROKER_UNIT, HUB_UNIT, HUB_USER, Layout

SHIPPED = Path(__file__).resolve().parents[2] / "systemd"


def shipped(name: str) -> str:
    """A file of the checkout's systemd/ folder."""
    path = SHIPPED / name
    try:
        return path.read_text()
    except OSError as exc:
        raise EdgeError(
            f"{path}: cannot read the shipped file ({exc.strerror}): install from a checkout"
        ) from None


def entry_point() -> Path:
    """The `hall-edge` script of the venv running this installer."""
    return Path(sys.executable).parent / "hall-edge"


def broker_conf(layout: Layout) -> str:
    """systemd/mosquitto-hall.conf with its paths under the layout's root."""
    text = shipped("mosquitto-hall.conf")
    for real, path in (
        ("/etc/hall-edge/mosquitto.passwd", layout.broker_passwd),
        ("/etc/hall-edge/mosquitto-hall.acl", layout.broker_acl),
        ("/var/lib/mosquitto-hall/", f"{layout.broker_state}/"),
    ):
        text = text.replace(real, str(path))
    return text


def hub_unit(exe: Path | None = None) -> str:
    """systemd/hall-edge.service starting this venv's `hall-edge`."""
    text = shipped(HUB_UNIT)
    return text.replace("/opt/hall-edge/.venv/bin/hall-edge", str(exe or entry_point()))


def broker_unit() -> str:
    return shipped(BROKER_UNIT)


def wrapper(exe: Path | None = None) -> str:
    """/usr/local/bin/hall-edge: runs the venv's entry point (no venv to activate)."""
    return (
        "#!/bin/sh\n"
        "# Installed by `hall-edge install`: the hall-edge command of the hub's venv.\n"
        f'exec {exe or entry_point()} "$@"\n'
    )


def example_config(layout: Layout, hall_id: str = "hall-01") -> str:
    """A commented hall.toml that passes `hall-edge config check` as written; the hub's
    password on the hall broker is made here at random (`broker sync` makes its account)."""
    password = secrets.token_urlsafe(18)
    journal = layout.state / "hall.db"
    vault = layout.state / "faces.db"
    key = layout.etc / "faces.key"
    return f"""# hall.toml of this hub, by `hall-edge install` (keys: docs/configuration.md).
# Edit it, then: hall-edge config check {layout.config}
#                hall-edge broker sync -c {layout.config}   (accounts of the devices below)
#                systemctl restart hall-edge

[hall]
id = "{hall_id}"                    # the hall's id in the cloud's topics: change it
name = ""
timezone = "Asia/Shanghai"

[hall_broker]
# The broker on this box (mosquitto-hall.service). Its account for the hub is made by
# `hall-edge broker sync` from these two lines; the password was made at install time.
url = "mqtt://127.0.0.1:1883"
username = "{HUB_USER}"
password = "{password}"
# One read-only account per hall screen or dashboard (passwords: broker sync).
screens = ["hall-screen"]

[cloud]
# The utility's cloud broker: mqtts:// with ca, cert and key files under {layout.certs}.
url = "mqtts://cloud.example.com:8883"
# ca = "{layout.certs}/ca.pem"
# cert = "{layout.certs}/hub.pem"
# key = "{layout.certs}/hub.key"

[store]
# The journal: under /var/lib/hall-edge, the only folder the hub's unit may write.
path = "{journal}"

[http]
# /metrics, /healthz, /readyz and the hall console; the hub's LAN address for the hall's PCs.
listen = "127.0.0.1:9580"
users_file = "console-users"        # logins: hall-edge users add NAME -c {layout.config}

[faces]
enabled = false
vault_path = "{vault}"
key_path = "{key}"

# One [[devices]] table per device (docs/devices.md lists the profiles). Examples:
#
# [[devices]]                       # an MQTT rating pad: its account is its id
# id = "pad-1"
# profile = "generic-mqtt"
#
# [[devices]]                       # a serial counter caller on /dev/hall/caller-1 (udev)
# id = "caller-1"
# profile = "counter-caller-485"
# settings = {{ port = "/dev/hall/caller-1", serial_number = "A10K0001", address = 1, counter = 1 }}
"""
