"""A healthy staged hall for the doctor: installed files under a temp root, the shipped hall
broker run from them with accounts made by `broker sync`, a TLS cloud broker requiring a
client certificate, a real hub running, and a serial port (a pty) present.

Built once per module: each failure test points the doctor at a variant of the config
(`hall.variant(...)`), so the healthy hall itself is changed only where a test says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge.cli import build_app
from edge.config import load
from edge.install.accounts import sync
from edge.install.files import broker_conf, shipped
from edge.install.layout import Layout
from tests.support.broker import free_port
from tests.support.certs import CertAuthority, Issued
from tests.support.hall import HubProcess
from tests.support.tlsbroker import TlsMosquitto

HUB_PW = "doctor-hub-secret"
CLOUD_PW = "doctor-cloud-secret"


class StagedHallBroker:
    """systemd/mosquitto-hall.conf as install renders it for the root, on a free port."""

    def __init__(self, layout: Layout) -> None:
        self.port = free_port()
        self.exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = broker_conf(layout).replace("listener 1883", f"listener {self.port} 127.0.0.1")
        layout.broker_state.mkdir(parents=True, exist_ok=True)
        layout.broker_pid.parent.mkdir(parents=True, exist_ok=True)
        conf += f"pid_file {layout.broker_pid}\n"
        if os.geteuid() == 0:
            conf += "user root\n"
        self.conf = layout.root / "test-mosquitto.conf"
        self.conf.write_text(conf)
        self.log = layout.root / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=out, stderr=out)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise AssertionError(self.log.read_text() or "mosquitto did not listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


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
        self.hall = StagedHallBroker(lay)
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
        text = ""
        for name, keys in sections.items():
            text += f"[{name}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in keys.items())
        for d in devices:
            text += "\n[[devices]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in d.items())
        path.write_text(text)

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
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto is not installed (./hall setup installs it)")
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
