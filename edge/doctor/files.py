"""Files with secrets or a lifetime: certificate expiry, private key and face key modes."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from edge.doctor.context import Context
from edge.doctor.result import Check, fail, ok, warn
from edge.install.layout import HUB_USER
from edge.tlsfiles import CertError, earliest_expiry, key_mode_problem

WARN_DAYS = 30


def check_certificates(ctx: Context) -> list[Check]:
    cfg = ctx.cfg
    if cfg is None:
        return []
    out: list[Check] = []
    for section_name in ("hall_broker", "cloud"):
        section = getattr(cfg, section_name)
        for key in ("ca", "cert"):
            value = getattr(section, key)
            if value is None:
                continue
            path = cfg.resolve(value)
            name = f"certificate {section_name}.{key}"
            renew = f"renew {path} (the hub reads it again at its next connect)"
            try:
                end = earliest_expiry(path)
            except CertError as exc:
                out.append(fail(name, str(exc), f"put the PEM certificate in {path}"))
                continue
            days = (end - ctx.now).total_seconds() / 86400
            when = f"{end:%Y-%m-%d %H:%M} UTC"
            if days <= 0:
                out.append(fail(name, f"{path} expired on {when}", renew))
            elif days < WARN_DAYS:
                out.append(warn(name, f"{path} expires on {when}, in {days:.0f} days", renew))
            else:
                out.append(ok(name, f"{path} valid until {when} ({days:.0f} days)"))
    return out


def _not_hubs(path: Path) -> str | None:
    """Run as root on an installed box: a 0600 key must belong to the hub's user."""
    if os.geteuid() != 0:
        return None
    try:
        hub = pwd.getpwnam(HUB_USER)
    except KeyError:
        return None
    owner = path.stat().st_uid
    if owner == hub.pw_uid:
        return None
    try:
        name = pwd.getpwuid(owner).pw_name
    except KeyError:
        name = str(owner)
    return f"{path} belongs to {name}: the hub (user {HUB_USER}) cannot read it"


def check_keys(ctx: Context) -> list[Check]:
    cfg = ctx.cfg
    if cfg is None:
        return []
    out: list[Check] = []
    for section_name in ("hall_broker", "cloud"):
        value = getattr(cfg, section_name).key
        if value is None:
            continue
        path = cfg.resolve(value)
        name = f"key {section_name}.key"
        if not path.is_file():
            out.append(fail(name, f"{path} does not exist", f"put the private key in {path}"))
        elif problem := key_mode_problem(path):
            out.append(
                fail(
                    name,
                    f"{path} is readable by others: expected mode 0600, {problem}",
                    f"chmod 600 {path}; chown hall-edge {path}",
                )
            )
        elif problem := _not_hubs(path):
            out.append(fail(name, problem, f"chown {HUB_USER} {path}"))
        else:
            out.append(ok(name, f"{path} readable by its owner only"))
    return out


def check_face_key(ctx: Context) -> list[Check]:
    cfg = ctx.cfg
    if cfg is None or not cfg.faces.enabled:
        return []
    path = cfg.resolve(cfg.faces.key_path)
    name = "face key"
    if not path.exists():
        return [warn(name, f"{path} does not exist yet", "the hub creates it when it starts")]
    if problem := key_mode_problem(path):
        return [
            fail(
                name,
                f"{path} is readable by others: expected mode 0600, {problem}",
                f"chmod 600 {path}",
            )
        ]
    return [ok(name, f"{path} readable by its owner only")]
