"""A real Mosquitto with a TLS listener that requires client certificates (and a password).

Listeners, each with its own settings (`per_listener_settings true`):
- TLS on 127.0.0.1:`port`: the cloud link under test; client certificate signed by `ca`
  required, TLS 1.2 or later, user name and password required.
- the same TLS listener on 127.0.0.2:`port` (same certificate, whose SAN names only
  127.0.0.1 and localhost): the wrong-host-name case, still on loopback.
- with `foreign` (a certificate and key from another CA), TLS on 127.0.0.3:`port`
  presenting that certificate: the wrong-CA case.
- plain TCP on 127.0.0.1:`plain_port`, anonymous: the test's own peers (subscribers, the
  cloud application sending commands), so they can reuse tests/support/hall.py as is.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

from tests.support.broker import Mosquitto, free_port


def add_user(passwd_file: Path, user: str, password: str) -> None:
    """Hash `user:password` into a Mosquitto password file (created if missing)."""
    args = ["mosquitto_passwd", "-b"]
    if not passwd_file.exists():
        args.append("-c")
    subprocess.run([*args, str(passwd_file), user, password], check=True, capture_output=True)
    os.chmod(passwd_file, 0o644)  # the broker may drop to the mosquitto user


class TlsMosquitto(Mosquitto):
    def __init__(
        self,
        workdir: Path,
        ca: Path,
        cert: Path,
        key: Path,
        users: dict[str, str] | None = None,
        foreign: tuple[Path, Path] | None = None,
    ) -> None:
        super().__init__(workdir, persistence=False)
        self.plain_port = free_port()
        self.ca = ca
        passwd = self.dir / "passwd"
        for user, password in (users or {}).items():
            add_user(passwd, user, password)

        def tls(cert: Path, key: Path) -> list[str]:
            return [
                f"cafile {ca}",
                f"certfile {cert}",
                f"keyfile {key}",
                "require_certificate true",
                "tls_version tlsv1.2",
            ]

        auth = (
            [f"password_file {passwd}", "allow_anonymous false"]
            if users
            else ["allow_anonymous true"]
        )
        lines = [
            "per_listener_settings true",
            f"listener {self.port} 127.0.0.1",
            *tls(cert, key),
            *auth,
            f"listener {self.port} 127.0.0.2",
            *tls(cert, key),
            *auth,
        ]
        if foreign is not None:
            lines += [f"listener {self.port} 127.0.0.3", *tls(*foreign), *auth]
        lines += [
            f"listener {self.plain_port} 127.0.0.1",
            "allow_anonymous true",
            "max_queued_messages 0",
            "max_queued_bytes 0",
            "max_inflight_messages 1000",
            f"log_dest file {self.dir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        self.conf.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    @property
    def plain_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.plain_port}"

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: see {self.dir / 'mosquitto.log'}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.plain_port), timeout=0.2),
                socket.create_connection(("127.0.0.2", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port}/{self.plain_port}")

    def log_text(self) -> str:
        path = self.dir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


def client_context(ca: Path, cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS context for a test peer on the TLS listener."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
