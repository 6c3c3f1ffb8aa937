"""The consumer's settings: command-line options over environment over a TOML file.

`hall-cloud consume --config cloud.toml` reads top-level keys of the same names as the
options (`broker`, `db`, `client_id`, `shared_group`, `shared`, `protocol`, `max_bytes`,
`batch_max`, `linger_ms`, `halls`); `HALL_CLOUD_BROKER` and `HALL_CLOUD_DB` stand in for
`broker` and `db`. Every mistake is a ConfigError naming the file, the key and what was
expected.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edge.errors import ConfigError

ENV_BROKER = "HALL_CLOUD_BROKER"
ENV_DB = "HALL_CLOUD_DB"
PROTOCOLS = ("5", "3.1.1")
BROKER_SCHEMES = ("mqtt", "mqtts", "amqp", "amqps")  # amqp: cloud/amqp_source.py
DB_SCHEMES = ("postgres", "postgresql")


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    broker: str
    db: str
    client_id: str = field(default_factory=lambda: f"hall-cloud-{socket.gethostname()}")
    # MQTT 5 shared subscription group; None subscribes plainly (brokers without $share;
    # the default under MQTT 3.1.1 unless a group is named).
    shared_group: str | None = "hall-cloud"
    protocol: str = "5"
    max_bytes: int = 1 << 20  # larger payloads are dead letters (`too_large`)
    batch_max: int = 500  # messages per PostgreSQL transaction
    linger_ms: int = 20  # how long a batch waits for more messages before it is written
    halls: frozenset[str] | None = None  # known halls; None: any hall id is accepted
    session_expiry_s: int = 7 * 24 * 3600


_INTS = {"max_bytes": 1, "batch_max": 1, "linger_ms": 0}
_KEYS = {
    "broker",
    "db",
    "client_id",
    "shared_group",
    "shared",
    "protocol",
    "halls",
    *_INTS,
}


def _check(where: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values, or ConfigError(where, key, expected)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _KEYS:
            raise ConfigError(where, key, "one of " + ", ".join(sorted(_KEYS)), key)
        if key in _INTS:
            if isinstance(value, bool) or not isinstance(value, int) or value < _INTS[key]:
                raise ConfigError(where, key, f"an integer >= {_INTS[key]}", value)
            out[key] = value
        elif key == "shared":
            if not isinstance(value, bool):
                raise ConfigError(where, key, "true or false", value)
            out[key] = value
        elif key == "halls":
            if not isinstance(value, list) or not all(isinstance(h, str) and h for h in value):
                raise ConfigError(where, key, "a list of hall ids", value)
            out[key] = frozenset(value)
        else:
            if not isinstance(value, str) or not value:
                raise ConfigError(where, key, "a non-empty string", value)
            out[key] = value
    if "broker" in out:
        scheme = urlsplit(out["broker"]).scheme
        if scheme not in BROKER_SCHEMES:
            raise ConfigError(
                where, "broker", "an mqtt://, mqtts://, amqp:// or amqps:// URL", out["broker"]
            )
    if "db" in out and urlsplit(out["db"]).scheme not in DB_SCHEMES:
        raise ConfigError(where, "db", "a postgresql:// URL", out["db"])
    if "protocol" in out and out["protocol"] not in PROTOCOLS:
        raise ConfigError(where, "protocol", '"5" or "3.1.1"', out["protocol"])
    return out


def load_settings(
    config: Path | None = None,
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ConsumerSettings:
    """Merge the file, the environment and the options (those not None), later ones winning."""
    merged: dict[str, Any] = {}
    if config is not None:
        try:
            raw = tomllib.loads(config.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(str(config), "", "a readable TOML file", exc.strerror) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(config), "", f"valid TOML ({exc})") from None
        merged |= _check(str(config), raw)
    env = os.environ if environ is None else environ
    from_env = {k: env[v] for k, v in (("broker", ENV_BROKER), ("db", ENV_DB)) if env.get(v)}
    merged |= _check("environment", from_env)
    given = {k: v for k, v in (options or {}).items() if v is not None}
    merged |= _check("command line", given)
    for key, where in (("broker", f"--broker or {ENV_BROKER}"), ("db", f"--db or {ENV_DB}")):
        if key not in merged:
            raise ConfigError(str(config) if config else "command line", key, f"a value ({where})")
    shared = merged.pop("shared", None)
    settings = ConsumerSettings(**merged)
    # MQTT 3.1.1 has no shared subscriptions in the standard (RabbitMQ would take `$share/`
    # for a topic name): plain ones unless a group is asked for by name.
    plain_by_default = settings.protocol == "3.1.1" and "shared_group" not in merged
    if shared is False or (shared is None and plain_by_default):
        settings = replace(settings, shared_group=None)
    return settings
