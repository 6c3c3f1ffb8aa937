"""The box itself: clock, serial ports, installed units and udev rules."""

from __future__ import annotations

import glob
import grp
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from edge.doctor.config import profiles_of
from edge.doctor.context import Context
from edge.doctor.result import Check, fail, ok, warn
from edge.errors import EdgeError
from edge.install.layout import DEV_HALL, HUB_USER

CLOCK_HINT = "enable time sync: timedatectl set-ntp true (or install chrony); event times use it"


def _run(args: list[str], timeout: float) -> tuple[int, str]:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return -1, ""
    return done.returncode, done.stdout


def check_clock(ctx: Context) -> Check:
    name = "clock"
    if tool := shutil.which("timedatectl"):
        rc, out = _run([tool, "show", "-p", "NTPSynchronized", "--value"], ctx.timeout_s)
        if rc == 0 and out.strip() == "yes":
            return ok(name, "synchronised (timedatectl)")
        if rc == 0 and out.strip() == "no":
            return fail(name, "not synchronised (timedatectl: NTPSynchronized=no)", CLOCK_HINT)
    if tool := shutil.which("chronyc"):
        rc, out = _run([tool, "-n", "tracking"], ctx.timeout_s)
        leap = [ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Leap")]
        if rc == 0 and leap:
            if leap[0] == "Normal":
                return ok(name, "synchronised (chronyc: leap status normal)")
            return fail(name, f"not synchronised (chronyc: {leap[0]})", CLOCK_HINT)
    return warn(
        name,
        "cannot tell whether the clock is synchronised (no answer from timedatectl or chronyc)",
        CLOCK_HINT,
    )


def _hub_can_use(path: Path) -> str | None:
    """Run as root, os.access says yes to everything: ask for the hub's user instead."""
    if os.geteuid() != 0:
        return None if os.access(path, os.R_OK | os.W_OK) else "this user"
    try:
        user = pwd.getpwnam(HUB_USER)
    except KeyError:
        return None  # not installed: the install checks say so
    st = path.stat()
    groups = {g.gr_gid for g in grp.getgrall() if HUB_USER in g.gr_mem} | {user.pw_gid}
    mode = stat.S_IMODE(st.st_mode)
    if (
        (st.st_uid == user.pw_uid and mode & 0o600 == 0o600)
        or (st.st_gid in groups and mode & 0o060 == 0o060)
        or mode & 0o006 == 0o006
    ):
        return None
    return f"user {HUB_USER}"


def _port_check(name: str, port: str) -> Check:
    hint = "plug the adapter in (cable, USB hub); `hall-edge devices scan` lists the ports"
    if any(c in port for c in "*?["):
        matches = sorted(glob.glob(port))
        if not matches:
            return fail(name, f"no port matches {port}", hint)
        port = matches[0]
    path = Path(port)
    if not path.exists():
        return fail(name, f"{port} is not present", hint)
    who = _hub_can_use(path)
    st = path.stat()
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    perms = f"group {group}, mode {stat.S_IMODE(st.st_mode):04o}"
    if who is not None:
        return fail(
            name,
            f"{port} cannot be read and written by {who} ({perms})",
            "hall-edge install (udev rules: group dialout, mode 0660; the hub's user in dialout)",
        )
    return ok(name, f"{port} present, read/write ({perms})")


def check_serial(ctx: Context) -> list[Check]:
    cfg = ctx.cfg
    if cfg is None:
        return []
    try:
        profiles = profiles_of(cfg)
    except EdgeError:
        return []  # the config check names the bad profile
    out: list[Check] = []
    for dev in cfg.devices:
        profile = profiles.get(dev.profile)
        if profile is None or profile.serial is None:
            continue
        name = f"serial {dev.id}"
        port = dev.settings.get("port")
        if isinstance(port, str) and port:
            out.append(_port_check(name, port))
        elif (DEV_HALL / dev.id).exists():
            out.append(_port_check(name, str(DEV_HALL / dev.id)))
        else:
            out.append(
                warn(
                    name,
                    f"no port set and no {DEV_HALL / dev.id}: the hub looks for it by USB ids",
                    "plug it in; `hall-edge devices scan`; or set its port",
                )
            )
    return out


def check_installed(ctx: Context) -> list[Check]:
    layout = ctx.layout
    hint = f"hall-edge install{'' if not layout.staged else f' --root {layout.root}'}"
    out: list[Check] = []
    for unit in (layout.hub_unit, layout.broker_unit):
        name = f"unit {unit.name}"
        if unit.is_file():
            out.append(ok(name, f"{unit} installed"))
        else:
            out.append(fail(name, f"{unit} is missing", hint))
    rules = layout.udev_rules
    if rules.is_file():
        out.append(ok("udev rules", f"{rules} installed"))
    else:
        serial = bool(check_serial(ctx))
        level = fail if serial else warn
        out.append(level("udev rules", f"{rules} is missing", hint))
    return out
