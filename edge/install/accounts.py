"""The hall broker's accounts and ACL, made from the hub config (`hall-edge broker sync`).

One account per MQTT device (user name = device id), one per hall screen (read only) and the
hub's. The broker runs with `use_username_as_clientid`: every connection's client id is its
user name, so a device cannot take over the hub's session by using the hub's client id, and
the hub's persistent session is keyed by its user name.

Passwords are random (`secrets`), hashed by `mosquitto_passwd -U`; an account that exists
keeps its hash, so a second sync changes nothing. The clear passwords of device and screen
accounts are kept in a root-only file for the installer; the hub's is the one in hall.toml.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from edge.config import HubConfig
from edge.drivers.profile_schema import Profile
from edge.drivers.profiles import ProfileSet, load_profiles
from edge.errors import ConfigError, EdgeError
from edge.install.layout import BROKER_USER, HUB_USER, PASSWD_MODE, SECRETS_MODE, Layout

Role = Literal["hub", "device", "screen"]

# Topics of the generic convention a device may use (docs/contract.md).
_GENERIC_ACL = (
    "topic write hall/devices/{id}/events/#",
    "topic readwrite hall/devices/{id}/state",
    "topic write hall/devices/{id}/replies",
    "topic write hall/devices/{id}/snapshot",
    "topic read hall/devices/{id}/commands/#",
)
# What screens and dashboards read: the hub's event copies, queue status, state, metrics.
_SCREEN_ACL = (
    "topic read hall/events/#",
    "topic read hall/queue/status/#",
    "topic read hall/hub/#",
)
_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


class BrokerError(EdgeError):
    """The broker's files could not be made (a tool missing, a file unreadable)."""


@dataclass(frozen=True)
class Account:
    user: str
    role: Role
    acl: tuple[str, ...]


@dataclass
class SyncResult:
    """What a sync did, for the command to print."""

    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rehashed: list[str] = field(default_factory=list)  # the hub's, when hall.toml changed it
    passwd_changed: bool = False
    acl_changed: bool = False
    passwords: dict[str, str] = field(default_factory=dict)  # clear, devices and screens
    reload: str = ""

    @property
    def changed(self) -> bool:
        return self.passwd_changed or self.acl_changed


def _vendor_acl(profile: Profile, settings: Mapping[str, Any], device_id: str) -> list[str]:
    """ACL lines for a vendor-format device: its profile's topics filled with its settings."""
    values = {**{k: v for k, v in settings.items() if v is not None}, "device_id": device_id}

    def fill(topic: str) -> str:
        # A placeholder the settings cannot fill (a per-message id) matches one level.
        parts = []
        for level in topic.split("/"):
            try:
                filled = level.format(**values) if "{" in level else level
            except (KeyError, IndexError, ValueError):
                filled = "+"
            parts.append("+" if _PLACEHOLDER.search(filled) else filled)
        return "/".join(parts)

    lines: list[str] = []
    for m in profile.messages:
        lines.append(f"topic write {fill(m.topic)}")
    for r in profile.replies:
        lines.append(f"topic write {fill(r.topic)}")
    if profile.availability is not None:
        lines.append(f"topic readwrite {fill(profile.availability.topic)}")
    for c in profile.commands.values():
        if c.topic is not None:
            lines.append(f"topic read {fill(c.topic)}")
    fc = profile.face_camera
    if fc is not None and fc.snapshot.source == "mqtt" and fc.snapshot.topic:
        lines.append(f"topic write {fill(fc.snapshot.topic)}")
    return list(dict.fromkeys(lines))


def _speaks_mqtt(profile: Profile) -> bool:
    if profile.serial is not None:
        return False
    fc = profile.face_camera
    # A camera whose pictures the hub fetches over HTTP never logs in to the broker.
    return not (fc is not None and fc.snapshot.source == "http")


def _check_user(name: str, file: str, key: str) -> None:
    if not _USER_RE.match(name):
        raise ConfigError(file, key, "a broker user name of letters, digits and . _ -", name)


def accounts_for(cfg: HubConfig, profiles: ProfileSet | None = None) -> list[Account]:
    """Every account the hall broker needs for this config, with its ACL lines."""
    from edge.drivers.device_settings import device_settings  # noqa: PLC0415

    file = cfg.source
    if profiles is None:
        profiles = load_profiles(cfg.resolve(cfg.profiles_dir) if cfg.profiles_dir else None)
    hub_user = cfg.hall_broker.username
    if not hub_user:
        raise ConfigError(
            file,
            "hall_broker.username",
            f"the hub's user name on the hall broker (e.g. {HUB_USER!r}, with a password)",
        )
    _check_user(hub_user, file, "hall_broker.username")
    if not cfg.hall_broker.password:
        raise ConfigError(file, "hall_broker.password", "the hub's password on the hall broker")
    accounts = [Account(hub_user, "hub", ("topic readwrite #",))]
    owner: dict[str, str] = {hub_user: "hall_broker.username"}
    for i, screen in enumerate(cfg.hall_broker.screens):
        key = f"hall_broker.screens[{i}]"
        _check_user(screen, file, key)
        if screen in owner:
            raise ConfigError(file, key, f"a name not already used by {owner[screen]}", screen)
        owner[screen] = key
        accounts.append(Account(screen, "screen", _SCREEN_ACL))
    for i, dev in enumerate(cfg.devices):
        key = f"devices[{i}]"
        profile = profiles.get_profile(dev.profile, file, f"{key}.profile")
        if not _speaks_mqtt(profile):
            continue
        _check_user(dev.id, file, f"{key}.id")
        if dev.id in owner:
            raise ConfigError(
                file, f"{key}.id", f"a device id not already used by {owner[dev.id]}", dev.id
            )
        owner[dev.id] = f"{key}.id"
        settings = device_settings(dev, profile, file, key)
        if getattr(profile.transport, "convention", "generic") == "generic":
            acl = tuple(line.format(id=dev.id) for line in _GENERIC_ACL)
        else:
            acl = tuple(_vendor_acl(profile, settings, dev.id))
        accounts.append(Account(dev.id, "device", acl))
    return accounts


def render_acl(accounts: Iterable[Account], cfg: HubConfig) -> str:
    """The ACL file: one block per account, nothing for anyone else."""
    head = [
        f"# The hall broker's ACL for hall {cfg.hall.id}, made by `hall-edge broker sync` from",
        f"# {cfg.source}: edit the config and sync again, not this file.",
        "# Each client's id is its user name (use_username_as_clientid): a device is its",
        "# account, and may write only its own topics and read only its own commands.",
    ]
    blocks = []
    for a in accounts:
        blocks.append("\n".join([f"# {a.role}", f"user {a.user}", *a.acl]))
    return "\n".join(head) + "\n\n" + "\n\n".join(blocks) + "\n"


# -- the password file ---------------------------------------------------------------------


def read_passwd(path: Path) -> dict[str, str]:
    """user -> hash of a Mosquitto password file (absent file: no accounts)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise BrokerError(
            f"{path}: cannot read the broker's password file: {exc.strerror}"
        ) from None
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        user, sep, digest = line.partition(":")
        if not sep:
            raise BrokerError(f"{path}: line {n}: expected user:hash, got {line[:40]!r}")
        out[user] = digest
    return out


def password_matches(digest: str, password: str) -> bool:
    """Does `password` match a Mosquitto 2 hash (`$7$iterations$salt$hash`, PBKDF2-SHA512)?

    Lets a check (the hub's login) be made without logging in: a login with the hub's user
    name would take the hub's own connection over.
    """
    parts = digest.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3])
        want = base64.b64decode(parts[4])
    except ValueError:
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, len(want))
    return hmac.compare_digest(got, want)


def hash_passwords(clear: Mapping[str, str], workdir: Path) -> dict[str, str]:
    """user -> hash, by `mosquitto_passwd -U` on a private temporary file in `workdir`."""
    if not clear:
        return {}
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise BrokerError(
            "mosquitto_passwd not found: install the mosquitto package (./hall setup)"
        )
    fd, name = tempfile.mkstemp(prefix=".passwd-", dir=workdir)
    try:
        with os.fdopen(fd, "w") as f:  # mkstemp: mode 0600, clear passwords stay private
            f.writelines(f"{u}:{p}\n" for u, p in clear.items())
        done = subprocess.run(
            [tool, "-U", name], capture_output=True, text=True, check=False, timeout=30
        )
        if done.returncode != 0:
            raise BrokerError(f"mosquitto_passwd -U failed: {done.stderr.strip() or done.stdout}")
        return read_passwd(Path(name))
    finally:
        Path(name).unlink(missing_ok=True)


def read_secrets(path: Path) -> dict[str, str]:
    """The clear passwords file: `user password` lines."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise BrokerError(f"{path}: cannot read: {exc.strerror}") from None
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            user, _, pw = line.strip().partition(" ")
            out[user] = pw.strip()
    return out


def render_secrets(passwords: Mapping[str, str]) -> str:
    lines = [
        "# Passwords of the hall broker's device and screen accounts (hall-edge broker sync).",
        "# Enter each in its device; keep this file root-only. The hub's is in hall.toml.",
        *(f"{u} {p}" for u, p in sorted(passwords.items())),
    ]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str, mode: int, group: str | None = None) -> bool:
    """Write `text` atomically with `mode` (and group); False when the file already held it."""
    try:
        if path.read_text() == text and (path.stat().st_mode & 0o777) == mode:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(name, mode)
        if group is not None:
            shutil.chown(name, group=group)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return True


def broker_group(layout: Layout) -> str | None:
    """The group the broker reads its password file as, on a real box (None when staged)."""
    if layout.staged:
        return None
    try:
        import grp  # noqa: PLC0415

        grp.getgrnam(BROKER_USER)
    except KeyError:
        return None
    return BROKER_USER


def sync(
    cfg: HubConfig, layout: Layout, *, dry_run: bool = False, profiles: ProfileSet | None = None
) -> SyncResult:
    """Make the broker's password file, ACL and the installer's password file match `cfg`."""
    accounts = accounts_for(cfg, profiles)
    current = read_passwd(layout.broker_passwd)
    result = SyncResult()
    fresh = _new_passwords(
        accounts,
        current,
        read_secrets(layout.broker_secrets),
        str(cfg.hall_broker.password),
        result,
    )
    wanted = {a.user: a for a in accounts}
    result.removed = sorted(u for u in current if u not in wanted)
    acl = render_acl(accounts, cfg)
    try:
        old_acl = layout.broker_acl.read_text()
    except OSError:
        old_acl = None
    result.acl_changed = old_acl != acl
    result.passwd_changed = bool(fresh or result.removed)
    if dry_run:
        return result
    layout.etc.mkdir(parents=True, exist_ok=True)
    lines = {u: current[u] for u in wanted if u in current and u not in fresh}
    lines.update(hash_passwords(fresh, layout.etc))
    text = "".join(f"{u}:{lines[u]}\n" for u in wanted)  # in config order
    group = broker_group(layout)
    result.passwd_changed = write_private(layout.broker_passwd, text, PASSWD_MODE, group)
    result.acl_changed = write_private(layout.broker_acl, acl, 0o644)
    hub = next(a for a in accounts if a.role == "hub")
    secret = {u: p for u, p in result.passwords.items() if u != hub.user}
    write_private(layout.broker_secrets, render_secrets(secret), SECRETS_MODE)
    return result


def _new_passwords(
    accounts: list[Account],
    current: dict[str, str],
    known: dict[str, str],
    hub_pw: str,
    result: SyncResult,
) -> dict[str, str]:
    """The clear passwords to hash, by user; `result` notes each account kept, made again
    or created, and the clear passwords the installer's file keeps."""
    fresh: dict[str, str] = {}
    for a in accounts:
        if a.role == "hub":
            # The hub's password is the config's: hashed again only when it changed.
            if a.user in current and password_matches(current[a.user], hub_pw):
                result.kept.append(a.user)
            else:
                fresh[a.user] = hub_pw
                (result.rehashed if a.user in current else result.created).append(a.user)
        elif a.user in current:
            result.kept.append(a.user)
            if a.user in known:
                result.passwords[a.user] = known[a.user]
        else:
            fresh[a.user] = secrets.token_urlsafe(18)
            result.passwords[a.user] = fresh[a.user]
            result.created.append(a.user)
    return fresh


def reload_broker(layout: Layout, *, dry_run: bool = False) -> str:
    """Make a running broker re-read its password file and ACL (SIGHUP keeps the sessions).

    The pid from the broker's pid file when there is one (tests, a broker started by hand),
    else `systemctl reload mosquitto-hall` on a real box; a staged tree only says so.
    """
    pid_file = layout.broker_pid
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        pid = None
    if pid is not None:
        if dry_run:
            return f"would send SIGHUP to the broker (pid {pid} from {pid_file})"
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            return f"broker not running (stale pid {pid} in {pid_file}): nothing to reload"
        except PermissionError:
            raise BrokerError(f"cannot signal the broker (pid {pid}): run as root") from None
        return f"broker reloaded (SIGHUP to pid {pid})"
    command = ["systemctl", "reload", "mosquitto-hall"]
    if layout.staged or dry_run or shutil.which("systemctl") is None:
        return "would run: " + " ".join(command)
    active = subprocess.run(
        ["systemctl", "is-active", "--quiet", "mosquitto-hall"], check=False, timeout=30
    )
    if active.returncode != 0:
        return "broker not running: it reads the new files when it starts"
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        raise BrokerError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return "broker reloaded (systemctl reload mosquitto-hall)"


__all__ = [
    "Account",
    "BrokerError",
    "SyncResult",
    "accounts_for",
    "password_matches",
    "read_passwd",
    "reload_broker",
    "render_acl",
    "sync",
]
