"""A healthy staged hall for the doctor: installed files under a temp root, the shipped hall
broker run from them with accounts made by `broker sync`, a TLS cloud broker requiring a
client certificate, a real hub running, and a serial port (a pty) present.

Built once per module: each failure test points the doctor at a variant of the config
(`hall.variant(...)`), so the healthy hall itself is changed only where a test says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge.cli import build_app
from edge.config import load
from edge.install.accounts import sync
from edge.install.files import shipped
from edge.install.layout import Layout
from edge.sim.hall_config import write_hall_toml
from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import free_port
from edge.web.users import add_user
from tests.support.certs import CertAuthority, Issued
from tests.support.shipped_broker import needs_mosquitto, shipped_broker
from tests.support.tlsbroker import TlsMosquitto

HUB_PW = "doctor-hub-secret"
CLOUD_PW = "doctor-cloud-secret"


class StagedHall:
    def __init__(self, root: Path) -> None:
        self.layout = Layout(root)
        lay = self.layout
        lay.etc.mkdir(parents=True)
        lay.state.mkdir(parents=True)
        self.ca = CertAuthority(lay.certs, "cloud-ca")
        self.server = self.ca.server("cloud-server")
        self.client = self.ca.client("hub", name="doctor-hall")
        other = CertAuthority(root / "other-ca", "other-ca")
        foreign = other.server("foreign", hosts=("127.0.0.3", "127.0.0.1", "localhost"))
        (lay.etc / "cloud.pass").write_text(CLOUD_PW + "\n")
        os.chmod(lay.etc / "cloud.pass", 0o600)
        # The serial line: a pty whose slave stands in for /dev/ttyUSB0.
        self.master, slave = os.openpty()
        self.port = root / "ttyUSB0"
        self.port.symlink_to(os.ttyname(slave))
        os.close(slave)
        self.cloud = TlsMosquitto(
            root / "cloud",
            self.ca.path,
            self.server.cert,
            self.server.key,
            users={"doctor-hall": CLOUD_PW},
            foreign=(foreign.cert, foreign.key),
        )
        self.cloud.start()
        self.hall = shipped_broker(lay)
        self.sections: dict[str, dict[str, Any]] = {
            "hall": {"id": "doctor-hall"},
            "hall_broker": {
                "url": self.hall.url,
                "username": "hall-edge",
                "password": HUB_PW,
                "screens": ["screen-1"],
            },
            "cloud": {
                "url": self.cloud.url,
                "username": "doctor-hall",
                "password_file": "cloud.pass",
                "ca": str(self.ca.path),
                "cert": str(self.client.cert),
                "key": str(self.client.key),
                "backoff_min_s": 0.2,
                "backoff_max_s": 2.0,
            },
            "store": {
                "path": str(lay.journal),
                "synchronous": "normal",
                "spool_max_bytes": 1_000_000,
            },
            "http": {"listen": f"127.0.0.1:{free_port()}", "users_file": "console-users"},
        }
        self.devices: list[dict[str, Any]] = [
            {"id": "pad-1", "profile": "generic-mqtt"},
            {
                "id": "display-1",
                "profile": "call-display-485",
                "settings": {"port": str(self.port), "probe": False},
            },
        ]
        self.write(lay.config, self.sections, self.devices)
        add_user(lay.etc / "console-users", "manager", "doctor-console-pw")
        # What `hall-edge install` and `broker sync` leave: broker files, units, udev rules.
        sync(load(lay.config), lay)
        lay.units.mkdir(parents=True)
        for unit in (lay.hub_unit, lay.broker_unit):
            unit.write_text(shipped(unit.name))
        lay.udev_rules.parent.mkdir(parents=True)
        lay.udev_rules.write_text('SUBSYSTEM=="tty", SYMLINK+="hall/display-1"\n')
        self.hall.start()
        self.hub = HubProcess(lay.config)
        self.hub.start()
        self.variants = 0

    @staticmethod
    def write(
        path: Path, sections: dict[str, dict[str, Any]], devices: list[dict[str, Any]]
    ) -> None:
        write_hall_toml(path, sections, devices)

    def variant(
        self,
        devices: list[dict[str, Any]] | None = None,
        **changes: dict[str, Any],
    ) -> Path:
        """The hall's config with some keys changed, beside it (same relative paths)."""
        sections = {k: dict(v) for k, v in self.sections.items()}
        for section, keys in changes.items():
            sections.setdefault(section, {}).update(keys)
        self.variants += 1
        path = self.layout.etc / f"variant-{self.variants}.toml"
        self.write(path, sections, self.devices if devices is None else devices)
        return path

    def issue(self, stem: str, **kwargs: Any) -> Issued:
        return self.ca.client(stem, name="doctor-hall", **kwargs)

    def close(self) -> None:
        self.hub.stop()
        self.hall.stop()
        self.cloud.stop()
        os.close(self.master)


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StagedHall]:
    needs_mosquitto()
    h = StagedHall(tmp_path_factory.mktemp("doctor") / "root")
    yield h
    h.close()


def doctor(*args: str) -> tuple[int, str]:
    """`hall-edge doctor ARGS` in this process (the CLI's own code path, without a fork)."""
    result = CliRunner().invoke(build_app(["doctor"]), ["doctor", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def doctor_json(*args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    rc, out = doctor(*args, "--json")
    checks = [json.loads(line) for line in out.splitlines() if line.strip()]
    by_name = {c["name"]: c for c in checks}
    assert len(by_name) == len(checks), "check names are unique"
    return rc, by_name
