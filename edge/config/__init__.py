"""The only reader of the hub config: one TOML file validated into frozen objects."""

from __future__ import annotations

import tomllib
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from edge.config.faces import FacesSection
from edge.config.http import HttpSection
from edge.config.http import check as check_http
from edge.config.hub import (
    BrokerSection,
    CloudSection,
    CommandsSection,
    DeviceSection,
    HallBrokerSection,
    HallSection,
    Section,
    StoreSection,
)
from edge.config.kpi import KpiSection
from edge.config.queue import QueueSection
from edge.config.queue import check as check_queue
from edge.config.rules import RulesSection
from edge.config.schema import convert
from edge.errors import ConfigError
from edge.limits import MAX_DEVICE_ID_CHARS
from edge.tlsfiles import key_mode_problem

DISK_MIN_BYTES = 1 << 20  # [store] disk_max_bytes: below this not even a day's journal fits

__all__ = [
    "BrokerSection",
    "CloudSection",
    "CommandsSection",
    "DeviceSection",
    "FacesSection",
    "HallBrokerSection",
    "HallSection",
    "HttpSection",
    "HubConfig",
    "KpiSection",
    "QueueSection",
    "RulesSection",
    "StoreSection",
    "load",
    "parse",
]


class HubConfig(Section, frozen=True, forbid_unknown_fields=True, kw_only=True):
    hall: HallSection
    hall_broker: HallBrokerSection
    cloud: CloudSection
    store: StoreSection = msgspec.field(default_factory=StoreSection)
    commands: CommandsSection = msgspec.field(default_factory=CommandsSection)
    devices: list[DeviceSection] = msgspec.field(default_factory=list)
    queue: QueueSection = msgspec.field(default_factory=QueueSection)
    kpi: KpiSection = msgspec.field(default_factory=KpiSection)
    rules: RulesSection = msgspec.field(default_factory=RulesSection)
    faces: FacesSection = msgspec.field(default_factory=FacesSection)
    http: HttpSection = msgspec.field(default_factory=HttpSection)
    # A folder of the hall's own device models, beside the shipped firmware-configs/.
    profiles_dir: str = ""
    # Where the file was read from: relative paths in it are relative to this folder.
    base_dir: str = "."
    source: str = "<memory>"

    def device(self, device_id: str) -> DeviceSection | None:
        for d in self.devices:
            if d.id == device_id:
                return d
        return None

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir) / p


def load(path: str | Path) -> HubConfig:
    """Read and validate a config file; every error names the file, the key and the expectation."""
    p = Path(path)
    name = str(p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(name, "", "a readable TOML file", exc.strerror) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(name, "", "UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(name, "", f"valid TOML ({exc})") from None
    return parse(data, name, str(p.resolve().parent))


def parse(data: dict[str, object], file: str = "<memory>", base_dir: str = ".") -> HubConfig:
    data = {**data, "base_dir": base_dir, "source": file}
    cfg = convert(data, HubConfig, file)
    _check(cfg, file)
    return _with_password_files(cfg, file)


def _read_password(cfg: HubConfig, value: str, file: str, key: str) -> str:
    expected = "a readable file whose first line is the password"
    try:
        lines = cfg.resolve(value).read_text("utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(file, key, f"{expected} ({exc.strerror})", value) from None
    except UnicodeDecodeError:
        raise ConfigError(file, key, f"{expected} (UTF-8 text)", value) from None
    if not lines or not lines[0].strip():
        raise ConfigError(file, key, f"{expected}; its first line is empty", value)
    return lines[0].strip()


def _with_password_files(cfg: HubConfig, file: str) -> HubConfig:
    """`password_file` read into `password`, so the links never see the difference."""
    hall, cloud = cfg.hall_broker, cfg.cloud
    if hall.password_file is not None:
        pw = _read_password(cfg, hall.password_file, file, "hall_broker.password_file")
        hall = msgspec.structs.replace(hall, password=pw)
    if cloud.password_file is not None:
        pw = _read_password(cfg, cloud.password_file, file, "cloud.password_file")
        cloud = msgspec.structs.replace(cloud, password=pw)
    if hall is cfg.hall_broker and cloud is cfg.cloud:
        return cfg
    return msgspec.structs.replace(cfg, hall_broker=hall, cloud=cloud)


def _check_url(url: str, file: str, key: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ConfigError(file, key, "a broker URL like mqtt://host:1883 or mqtts://host:8883", url)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(file, key, "a port number from 1 to 65535", url) from None


def _check(cfg: HubConfig, file: str) -> None:
    """Every check beyond the types, in the order of the file's sections: the first error
    found is the one reported."""
    _check_hall(cfg, file)
    _check_brokers(cfg, file)
    _check_bounds(cfg, file)
    check_queue(cfg.queue, file, _check_devices(cfg, file))
    check_http(cfg.http, file)


def _check_hall(cfg: HubConfig, file: str) -> None:
    if (
        not cfg.hall.id
        or any(c in cfg.hall.id for c in "/+#")
        or len(cfg.hall.id) > MAX_DEVICE_ID_CHARS
    ):
        raise ConfigError(
            file,
            "hall.id",
            f"a non-empty id without / + # of at most {MAX_DEVICE_ID_CHARS} characters",
            cfg.hall.id,
        )
    try:
        zoneinfo.ZoneInfo(cfg.hall.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            file, "hall.timezone", "an IANA time zone like Asia/Shanghai", cfg.hall.timezone
        ) from None


def _check_brokers(cfg: HubConfig, file: str) -> None:
    _check_url(cfg.hall_broker.url, file, "hall_broker.url")
    _check_url(cfg.cloud.url, file, "cloud.url")
    for section, name in ((cfg.hall_broker, "hall_broker"), (cfg.cloud, "cloud")):
        for key in ("ca", "cert", "key"):
            value = getattr(section, key)
            if value is not None and not cfg.resolve(value).is_file():
                raise ConfigError(file, f"{name}.{key}", "an existing file", value)
        if section.key is not None and (too_open := key_mode_problem(cfg.resolve(section.key))):
            # A private key others can read is a leaked key: refuse it before using it.
            raise ConfigError(
                file,
                f"{name}.key",
                f"a file readable only by its owner (mode 0600), {too_open}",
            )
        if section.key is not None and section.cert is None:
            raise ConfigError(file, f"{name}.cert", "the client certificate of the key in key")
        if section.password is not None and section.password_file is not None:
            raise ConfigError(
                file, f"{name}.password_file", "either password or password_file, not both"
            )


def _check_bounds(cfg: HubConfig, file: str) -> None:
    if cfg.cloud.window < 1 or cfg.cloud.window > 65535:
        raise ConfigError(
            file, "cloud.window", "a number of messages from 1 to 65535", cfg.cloud.window
        )
    if cfg.cloud.drain_rate <= 0:
        raise ConfigError(
            file, "cloud.drain_rate", "events per second above 0", cfg.cloud.drain_rate
        )
    if cfg.store.batch_max_rows < 1:
        raise ConfigError(file, "store.batch_max_rows", "at least 1", cfg.store.batch_max_rows)
    if cfg.store.spool_max_bytes < 4096:
        raise ConfigError(
            file, "store.spool_max_bytes", "at least 4096 bytes", cfg.store.spool_max_bytes
        )
    if cfg.store.disk_max_bytes is not None and cfg.store.disk_max_bytes < DISK_MIN_BYTES:
        raise ConfigError(
            file,
            "store.disk_max_bytes",
            f"at least {DISK_MIN_BYTES} bytes (1 MiB), or no key for no bound but the disk",
            cfg.store.disk_max_bytes,
        )


def _check_devices(cfg: HubConfig, file: str) -> set[str]:
    """The device ids, each checked; they are the ids the queue's devices may name."""
    seen: set[str] = set()
    for i, dev in enumerate(cfg.devices):
        key = f"devices[{i}].id"
        if (
            not dev.id
            or any(c in dev.id for c in "/+#")
            or dev.id == "hub"
            or len(dev.id) > MAX_DEVICE_ID_CHARS
        ):
            expected = (
                f"a device id without / + #, other than 'hub', of at most {MAX_DEVICE_ID_CHARS}"
                " characters"
            )
            raise ConfigError(file, key, expected, dev.id)
        if dev.id in seen:
            raise ConfigError(file, key, "an id used by one device only", dev.id)
        seen.add(dev.id)
    return seen
