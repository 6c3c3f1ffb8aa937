"""Sections of the hub config that the core hub reads: hall, brokers, store, devices."""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from typing import Any, Literal, TypedDict

import msgspec


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every config section: frozen, and unknown keys are errors (typos get caught)."""


class HallSection(Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    name: str = ""
    timezone: str = "Asia/Shanghai"


class BrokerSection(Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str  # mqtt://host:port or mqtts://host:port
    client_id: str = ""  # default: hall-edge-<hall id> (fixed, so the session persists)
    username: str | None = None
    password: str | None = None
    # The password's file instead (first line; relative to the config's folder): the config
    # can then be readable by more people than the secret. Not both.
    password_file: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    keepalive_s: int = 30

    def tls_paths(self, resolve: Callable[[str], str | PathLike[str]]) -> TlsPaths:
        """The TLS files as LinkOptions and TlsFiles take them (`**`): each through `resolve` (the
        config's folder for a relative path), None when not set."""
        return TlsPaths(
            ca=str(resolve(self.ca)) if self.ca else None,
            cert=str(resolve(self.cert)) if self.cert else None,
            key=str(resolve(self.key)) if self.key else None,
        )


class TlsPaths(TypedDict):
    ca: str | None
    cert: str | None
    key: str | None


class HallBrokerSection(BrokerSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    max_message_bytes: int = 262_144
    # Read-only accounts of the hall screens and dashboards (`hall-edge broker sync`): one
    # each, since the broker binds every connection's client id to its user name.
    screens: list[str] = msgspec.field(default_factory=lambda: ["hall-screen"])


class CloudSection(BrokerSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    protocol: Literal["5", "3.1.1"] = "5"
    # QoS 1 publishes in flight (capped by an MQTT 5 broker's Receive Maximum). 100 held a
    # busy hall to 1.8k events/s here: PUBACKs wait while the loop commits a batch.
    window: int = 1000
    drain_rate: float = 2000.0  # events/s while a backlog drains (a reconnect is no storm)
    puback_timeout_s: float = 20.0  # no PUBACK for this long with messages in flight: reconnect
    backoff_min_s: float = 0.5
    backoff_max_s: float = 60.0


class StoreSection(Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    path: str = "hall.db"
    synchronous: Literal["full", "normal"] = "full"
    batch_max_rows: int = 500
    batch_linger_ms: float = 0.0  # wait this long for more events before a small commit
    spool_max_bytes: int = 1 << 30
    spool_max_age_days: float = 14.0  # undelivered status-like events older than this go
    journal_days: int = 400  # delivered events stay this long for queue rebuild and KPIs
    # The journal file's own bound (SQLite max_page_count): past it the disk-full path runs
    # (drop status-like backlog, then hold acknowledgements). None: the disk is the bound.
    disk_max_bytes: int | None = None


class CommandsSection(Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    timeout_s: float = 10.0  # a device that does not reply in time: 408
    remember_days: float = 7.0  # how long a cmd_id's first reply is kept for repeats
    offline_wait_s: float = (
        600.0  # without a deadline, how long a command waits for an offline device
    )


class DeviceSection(Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    profile: str
    name: str = ""
    group: str = ""
    # Profile-specific settings (serial port, bus address, snapshot URL...): validated by
    # the device's profile when the driver starts.
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
