"""`hall-edge install` and `uninstall` as lists of actions, each checked before it is done.

Every action says what it would change ("create", "update", "run", "remove") or that there
is nothing to do ("unchanged"); applying the list twice changes nothing the second time.
With a staged root (tests, image builds) the actions on the real system (useradd,
systemctl, udevadm) are not run but reported as "skipped" with the command they would run;
their files are still written under the root.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge.config import HubConfig, load
from edge.errors import EdgeError
from edge.install import files
from edge.install.accounts import reload_broker, sync, write_private
from edge.install.layout import (
    BROKER_UNIT,
    CONFIG_MODE,
    ETC_MODE,
    HUB_GROUPS,
    HUB_UNIT,
    HUB_USER,
    STATE_MODE,
    Layout,
)
from edge.install.udev import udev_rules
from edge.store import journal_path

CHANGES = frozenset({"create", "update", "run", "remove"})


class InstallError(EdgeError):
    """An action could not be done (a command failed, a file could not be written)."""


@dataclass
class Action:
    """One step: `check` says what it would do, `apply` does it."""

    what: str
    check: Callable[[], tuple[str, str]]  # (status, detail)
    apply: Callable[[], None] | None = None
    status: str = ""
    detail: str = ""

    @property
    def changed(self) -> bool:
        return self.status in CHANGES

    def line(self) -> str:
        tail = f"  ({self.detail})" if self.detail else ""
        return f"{self.status:<10} {self.what}{tail}"


@dataclass
class Outcome:
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run(argv: Sequence[str]) -> None:
    """A system command; InstallError with its message when it fails."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=120)
    except OSError as exc:
        raise InstallError(f"{argv[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        msg = (done.stderr or done.stdout).strip().splitlines()
        raise InstallError(f"{' '.join(argv)} failed: {msg[-1] if msg else done.returncode}")


def _group(layout: Layout, name: str) -> str | None:
    """A group to give files to on a real box; None when staged or it does not exist."""
    if layout.staged:
        return None
    try:
        grp.getgrnam(name)
    except KeyError:
        return None
    return name


# -- kinds of actions -----------------------------------------------------------------------


def directory(layout: Layout, path: Path, mode: int, group: str | None = None) -> Action:
    def check() -> tuple[str, str]:
        if not path.is_dir():
            return "create", f"mode {mode:04o}"
        have = path.stat().st_mode & 0o7777
        g = _group(layout, group) if group else None
        if have != mode or (g is not None and grp.getgrgid(path.stat().st_gid).gr_name != g):
            return "update", f"mode {have:04o} -> {mode:04o}"
        return "unchanged", ""

    def apply() -> None:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
        g = _group(layout, group) if group else None
        if g is not None:
            shutil.chown(path, group=g)

    return Action(f"folder {path}", check, apply)


def file(
    layout: Layout,
    path: Path,
    text: Callable[[], str],
    mode: int,
    group: str | None = None,
    keep: bool = False,
) -> Action:
    """A file with this content and mode; `keep`: an existing one is left as it is."""

    def check() -> tuple[str, str]:
        if not path.exists():
            return "create", f"mode {mode:04o}"
        if keep:
            return "unchanged", "kept as edited"
        try:
            same = path.read_text() == text()
        except (OSError, UnicodeDecodeError):
            same = False
        have = path.stat().st_mode & 0o7777
        if not same:
            return "update", "content"
        if have != mode:
            return "update", f"mode {have:04o} -> {mode:04o}"
        return "unchanged", ""

    def apply() -> None:
        write_private(path, text(), mode, _group(layout, group) if group else None)

    return Action(f"file {path}", check, apply)


def command(
    layout: Layout,
    argv: Sequence[str],
    when: Callable[[], bool],
    why: str,
    real_only: bool = True,
) -> Action:
    """A system command, run when `when()` says so (after the actions before it)."""
    shown = " ".join(argv)

    def check() -> tuple[str, str]:
        if not when():
            return "unchanged", ""
        if real_only and layout.staged:
            return "skipped", f"staged: would run {shown}"
        if shutil.which(argv[0]) is None:
            return "skipped", f"{argv[0]} not found: {why}"
        return "run", why

    return Action(shown, check, lambda: run(argv))


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _in_groups(name: str) -> bool:
    try:
        return all(name in grp.getgrnam(g).gr_mem for g in HUB_GROUPS)
    except KeyError:
        return False


def _unit_enabled(unit: str) -> bool:
    if shutil.which("systemctl") is None:
        return False
    done = subprocess.run(
        ["systemctl", "is-enabled", "--quiet", unit], check=False, capture_output=True, timeout=30
    )
    return done.returncode == 0


def _unit_active(unit: str) -> bool:
    if shutil.which("systemctl") is None:
        return False
    done = subprocess.run(
        ["systemctl", "is-active", "--quiet", unit], check=False, capture_output=True, timeout=30
    )
    return done.returncode == 0


# -- install --------------------------------------------------------------------------------


def install_actions(
    layout: Layout, cfg: HubConfig | None, config_text: Callable[[], str], keep_config: bool
) -> list[Action]:
    """What `hall-edge install` does, in order.

    `cfg` is the config being installed (None: the example, read once it is written),
    `config_text` its text, `keep_config` leaves an existing hall.toml as it is.
    """
    plan = _Install(layout, cfg, config_text, keep_config)
    return [*plan.file_actions(), *plan.command_actions()]


class _Install:
    """The install's actions and what they share: which kinds of file changed when checked
    ("broker", "config", "units", "udev"), which the commands after them depend on."""

    def __init__(
        self,
        layout: Layout,
        cfg: HubConfig | None,
        config_text: Callable[[], str],
        keep_config: bool,
    ) -> None:
        self.layout = layout
        self.cfg = cfg
        self.config_text = config_text
        self.keep_config = keep_config
        self.real = not layout.staged
        self.changed: dict[str, bool] = {}

    def installed_cfg(self) -> HubConfig:
        # The installed copy once written: its relative paths are relative to /etc/hall-edge.
        config = self.layout.config
        if config.exists() and (self.cfg is None or config.read_text() == self.config_text()):
            return load(config)
        assert self.cfg is not None
        return self.cfg

    def mark(self, name: str, action: Action) -> Action:
        """`action`, noting in `changed[name]` when its check finds something to change."""
        inner = action.check

        def check() -> tuple[str, str]:
            status, detail = inner()
            self.changed[name] = self.changed.get(name, False) or status in CHANGES
            return status, detail

        action.check = check
        return action

    def did_change(self, name: str) -> Callable[[], bool]:
        return lambda: self.changed.get(name, False)

    def user(self) -> Action:
        layout = self.layout

        def check() -> tuple[str, str]:
            if not self.real:
                commands = "; ".join(" ".join(c) for c in _user_commands(layout))
                return "skipped", f"staged: would run {commands}"
            if not _user_exists(HUB_USER):
                return "create", ""
            return ("unchanged" if _in_groups(HUB_USER) else "update"), ""

        return Action(
            f"system user {HUB_USER} (groups {', '.join(HUB_GROUPS)})",
            check,
            lambda: _make_user(layout),
        )

    def accounts(self) -> Action:
        layout = self.layout

        def check() -> tuple[str, str]:
            if self.cfg is None and not layout.config.exists():
                return "create", "from the example config's hub account"
            result = sync(self.installed_cfg(), layout, dry_run=True)
            self.changed["broker"] = self.changed.get("broker", False) or result.changed
            if not result.changed:
                return "unchanged", f"{len(result.kept)} accounts"
            parts = [f"{len(result.created)} new", f"{len(result.removed)} removed"]
            return ("create" if not layout.broker_passwd.exists() else "update"), ", ".join(parts)

        def apply() -> None:
            sync(self.installed_cfg(), layout)

        return Action(
            f"broker accounts {layout.broker_passwd}, ACL {layout.broker_acl}", check, apply
        )

    def file_actions(self) -> list[Action]:
        """The user, folders and files, in order."""
        layout, mark = self.layout, self.mark

        def rules_text() -> str:
            return udev_rules(self.installed_cfg()).text

        broker_conf = file(layout, layout.broker_conf, lambda: files.broker_conf(layout), 0o644)
        config = file(
            layout, layout.config, self.config_text, CONFIG_MODE, HUB_USER, keep=self.keep_config
        )
        return [
            self.user(),
            directory(layout, layout.etc, ETC_MODE, HUB_USER),
            directory(layout, layout.certs, 0o750, HUB_USER),
            directory(layout, layout.rules_dir, 0o750, HUB_USER),
            _state_dir(layout),
            mark("config", config),
            mark("broker", broker_conf),
            self.accounts(),
            mark("units", file(layout, layout.hub_unit, files.hub_unit, 0o644)),
            mark("units", file(layout, layout.broker_unit, files.broker_unit, 0o644)),
            mark("udev", file(layout, layout.udev_rules, rules_text, 0o644)),
            file(layout, layout.bin, files.wrapper, 0o755),
        ]

    def command_actions(self) -> list[Action]:
        """The system commands after the files, each run only when what it needs changed."""
        layout, real = self.layout, self.real
        return [
            command(
                layout,
                ["udevadm", "control", "--reload"],
                self.did_change("udev"),
                "the udev rules changed",
            ),
            command(
                layout,
                ["udevadm", "trigger", "--subsystem-match=tty", "--action=add"],
                self.did_change("udev"),
                "links for adapters already plugged in",
            ),
            command(
                layout,
                ["systemctl", "daemon-reload"],
                self.did_change("units"),
                "the units changed",
            ),
            command(
                layout,
                ["systemctl", "disable", "--now", "mosquitto.service"],
                lambda: not real or _unit_enabled("mosquitto.service"),
                "Debian's broker would take port 1883",
            ),
            command(
                layout,
                ["systemctl", "enable", "--now", BROKER_UNIT, HUB_UNIT],
                lambda: not real or not (_unit_enabled(BROKER_UNIT) and _unit_enabled(HUB_UNIT)),
                "start at boot",
            ),
            Action(
                "reload the hall broker",
                lambda: _reload_check(layout, self.changed.get("broker", False)),
                lambda: _say(reload_broker(layout)),
            ),
            command(
                layout,
                ["systemctl", "restart", HUB_UNIT],
                lambda: self.changed.get("config", False) and (not real or _unit_active(HUB_UNIT)),
                "the config changed",
            ),
        ]


def _say(_: str) -> None:
    """reload_broker's sentence is already the action's detail."""


def _reload_check(layout: Layout, changed: bool) -> tuple[str, str]:
    if not changed:
        return "unchanged", ""
    how = reload_broker(layout, dry_run=True)
    if how.startswith("would run") and layout.staged:
        return "skipped", f"staged: {how}"
    return "run", how.removeprefix("would ")


def _state_dir(layout: Layout) -> Action:
    action = directory(layout, layout.state, STATE_MODE)
    inner = action.apply

    def apply() -> None:
        assert inner is not None
        inner()
        if not layout.staged and _user_exists(HUB_USER):
            shutil.chown(layout.state, user=HUB_USER, group=HUB_USER)

    action.apply = apply
    return action


def _user_commands(layout: Layout) -> list[list[str]]:
    home = ["--home-dir", str(layout.state), "--shell", "/usr/sbin/nologin"]
    return [
        ["useradd", "--system", "--user-group", *home, HUB_USER],
        ["usermod", "--append", "--groups", ",".join(HUB_GROUPS), HUB_USER],
    ]


def _make_user(layout: Layout) -> None:
    if layout.staged:
        return
    add, groups = _user_commands(layout)
    if not _user_exists(HUB_USER):
        run(add)
    run(groups)


def execute(actions: list[Action], *, dry_run: bool, say: Callable[[Action], None]) -> None:
    """Check each action in turn, then do it (unless `dry_run`); `say` reports each."""
    for action in actions:
        action.status, action.detail = action.check()
        say(action)
        if not dry_run and action.changed and action.apply is not None:
            action.apply()


# -- uninstall ------------------------------------------------------------------------------


def kept_paths(layout: Layout) -> list[Path]:
    """What uninstall keeps without --purge: the config, the journal, the face vault and key,
    and the broker's persistence (events queued for the hub)."""
    paths = [layout.config, layout.certs, layout.broker_state]
    try:
        cfg = load(layout.config)
    except EdgeError:
        cfg = None
    if cfg is not None:
        db = journal_path(cfg)
        paths += [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        paths += [cfg.resolve(cfg.faces.vault_path), cfg.resolve(cfg.faces.key_path)]
    else:
        paths += [layout.journal, layout.vault, layout.face_key]
    return paths


def _remove(path: Path) -> Action:
    def check() -> tuple[str, str]:
        return ("remove", "") if path.exists() or path.is_symlink() else ("unchanged", "gone")

    def apply() -> None:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)

    return Action(f"file {path}" if not path.is_dir() else f"folder {path}", check, apply)


def _remove_if_empty(path: Path) -> Action:
    def check() -> tuple[str, str]:
        if not path.is_dir():
            return "unchanged", "gone"
        return ("remove", "empty") if not any(path.iterdir()) else ("unchanged", "kept: not empty")

    def apply() -> None:
        with contextlib.suppress(OSError):
            path.rmdir()

    return Action(f"folder {path}", check, apply)


def uninstall_actions(layout: Layout, *, purge: bool) -> list[Action]:
    """What `hall-edge uninstall` does: units, rules, broker files and the command go; the
    config, journal and face vault stay unless `purge`."""
    units = [layout.hub_unit, layout.broker_unit]
    actions = [
        command(
            layout,
            ["systemctl", "disable", "--now", HUB_UNIT, BROKER_UNIT],
            lambda: any(u.exists() for u in units),
            "stop the hub and its broker",
        ),
        *(_remove(u) for u in units),
        command(
            layout,
            ["systemctl", "daemon-reload"],
            lambda: any(a.changed for a in actions[1:3]),
            "the units are gone",
        ),
        _remove(layout.udev_rules),
        command(
            layout,
            ["udevadm", "control", "--reload"],
            lambda: actions[4].changed,
            "the udev rules are gone",
        ),
        _remove(layout.bin),
        *(
            _remove(p)
            for p in (
                layout.broker_conf,
                layout.broker_acl,
                layout.broker_passwd,
                layout.broker_secrets,
            )
        ),
    ]
    keep = kept_paths(layout)
    actions += _purge(layout, keep) if purge else _keep(layout, keep)
    return actions


def _purge(layout: Layout, keep: list[Path]) -> list[Action]:
    """--purge: what uninstall otherwise keeps, the hub's folders and its user go too."""
    real = not layout.staged

    def user_check() -> tuple[str, str]:
        if not real:
            return "skipped", f"staged: would run userdel {HUB_USER}"
        return ("remove", "") if _user_exists(HUB_USER) else ("unchanged", "gone")

    return [
        *(_remove(p) for p in keep),
        _remove(layout.etc),
        _remove(layout.state),
        Action(
            f"system user {HUB_USER}",
            user_check,
            lambda: run(["userdel", HUB_USER]) if real else None,
        ),
    ]


def _keep(layout: Layout, keep: list[Path]) -> list[Action]:
    """Without --purge: the kept paths are said, folders left empty go."""
    kept = [
        Action(f"{'folder' if p.is_dir() else 'file'} {p}", lambda: ("kept", "--purge removes it"))
        for p in keep
        if p.exists()
    ]
    return [*kept, _remove_if_empty(layout.rules_dir), _remove_if_empty(layout.state)]


def writable_notes(cfg: HubConfig, layout: Layout) -> list[str]:
    """Paths the hub must write that its unit keeps read-only (all but /var/lib/hall-edge)."""
    paths = [("store.path", cfg.store.path)]
    if cfg.faces.enabled:
        paths.append(("faces.vault_path", cfg.faces.vault_path))
    notes = []
    for key, value in paths:
        where = cfg.resolve(value)
        if not where.resolve().is_relative_to(layout.state.resolve()):
            notes.append(
                f"{cfg.source}: {key}: {where} is read-only for the hub under systemd; "
                f"use a path under {layout.state}"
            )
    return notes


__all__ = [
    "Action",
    "InstallError",
    "execute",
    "install_actions",
    "uninstall_actions",
    "writable_notes",
]
