"""A real Mosquitto with TLS listeners that require client certificates (and a password).

Listeners, each with its own settings:
- TLS on 127.0.0.1:`port`: the cloud link under test; client certificate signed by `ca`
  required, TLS 1.2 or later, user name and password required when `users` are given.
- the same TLS listener on 127.0.0.2:`port` (same certificate, whose SAN names only
  127.0.0.1 and localhost): the wrong-host-name case, still on loopback.
- with `foreign` (a certificate and key from another CA), TLS on 127.0.0.3:`port`
  presenting that certificate: the wrong-CA case.
- plain TCP on 127.0.0.1:`plain_port`, anonymous: the test's own peers (subscribers, the
  cloud application sending commands), so they can reuse tests/support/hall.py as is.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from edge.sim.mosquitto import Listener, Mosquitto, Tls, free_ports


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
        port, self.plain_port = free_ports(2)
        own, login = Tls(ca, cert, key), bool(users)
        listeners = [Listener(port, host, own, login) for host in ("127.0.0.1", "127.0.0.2")]
        if foreign is not None:
            listeners.append(Listener(port, "127.0.0.3", Tls(ca, *foreign), login))
        listeners.append(Listener(self.plain_port))
        # Information: the TLS tests read the broker's account of each handshake.
        super().__init__(
            workdir,
            persistence=False,
            users=users,
            listeners=listeners,
            settings=["log_type information"],
        )

    @property
    def plain_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.plain_port}"


def client_context(ca: Path, cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS context for a test peer on the TLS listener."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
