"""The `[http]` section: the hub's own HTTP endpoints (metrics, health, the hall console)."""

from __future__ import annotations

import ipaddress

from edge.config.hub import Section
from edge.errors import ConfigError

DEFAULT_LISTEN = "127.0.0.1:9580"


class HttpSection(Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # host:port. Loopback by default: the console and the metrics reach the LAN only when
    # the installer names a LAN address. "" turns HTTP off.
    listen: str = DEFAULT_LISTEN
    # The console's users and their argon2 hashes (`hall-edge users add NAME` writes it);
    # relative to the config's folder. "": nobody can log in, the views stay read-only.
    users_file: str = ""
    console: bool = True  # False: only /metrics, /healthz and /readyz
    max_clients: int = 200  # live-update (SSE) connections at once; more get 503
    session_hours: float = 12.0
    # Failed logins allowed per client address and per user name within a minute.
    login_attempts_per_min: int = 5


def listen_address(value: str) -> tuple[str, int] | None:
    """`host:port` → (host, port); None for ""; ValueError naming what is wrong."""
    if value == "":
        return None
    host, sep, port_s = value.rpartition(":")
    if not sep or not port_s.isdigit():
        raise ValueError('host:port, like 127.0.0.1:9580 (or "" for no HTTP)')
    port = int(port_s)
    if not 1 <= port <= 65535:
        raise ValueError("a port number from 1 to 65535")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ValueError("an IP address (or localhost) before the port") from None
    return host, port


def check(section: HttpSection, file: str) -> None:
    try:
        listen_address(section.listen)
    except ValueError as exc:
        raise ConfigError(file, "http.listen", str(exc), section.listen) from None
    if section.max_clients < 1:
        raise ConfigError(file, "http.max_clients", "at least 1", section.max_clients)
    if section.session_hours <= 0:
        raise ConfigError(file, "http.session_hours", "hours above 0", section.session_hours)
    if section.login_attempts_per_min < 1:
        raise ConfigError(
            file, "http.login_attempts_per_min", "at least 1", section.login_attempts_per_min
        )
