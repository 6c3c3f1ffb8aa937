"""The hall broker: reachable, anonymous logins refused, the hub's login, the hub online.

The broker binds each connection's client id to its user name (`use_username_as_clientid`),
so logging in as the hub would take the running hub's connection over. The hub's password
is therefore checked against the broker's password file, and its state is read with a
hall screen's read-only account (whose password `broker sync` keeps in a root-only file).
Only a broker that does not bind ids is logged in to with the hub's own account.
"""

from __future__ import annotations

import msgspec

from edge.config import HubConfig
from edge.doctor.context import Context
from edge.doctor.probe import Login, login
from edge.doctor.result import Check, fail, ok, warn
from edge.errors import EdgeError
from edge.install.accounts import password_matches, read_passwd, read_secrets

STATE_TOPIC = "hall/hub/state"
HUB_HINT = "systemctl status hall-edge; journalctl -u hall-edge -n 50"


def binds_client_ids(ctx: Context) -> bool:
    """True unless the installed broker conf is there and does not bind ids (assume the worst)."""
    try:
        text = ctx.layout.broker_conf.read_text()
    except OSError:
        return True
    lines = [ln.split("#", 1)[0].split() for ln in text.splitlines()]
    return ["use_username_as_clientid", "true"] in lines


def _hub_login(ctx: Context, cfg: HubConfig, anonymous: Login) -> Check | None:
    """The hub's login checked without logging in; None: safe to log in and see."""
    hb = cfg.hall_broker
    name = "hub login"
    sync = "hall-edge broker sync (makes the hub's account from hall.toml)"
    if hb.username is None:
        if anonymous.outcome == "accepted":
            return warn(name, "the hub logs in anonymously (hall_broker.username not set)", sync)
        return fail(
            name, "hall_broker.username is not set and the broker refuses anonymous logins", sync
        )
    passwd = ctx.layout.broker_passwd
    if passwd.exists():
        try:
            digests = read_passwd(passwd)
        except EdgeError as exc:
            return warn(name, f"cannot tell: {exc}", "run the doctor as root")
        digest = digests.get(hb.username)
        if digest is None:
            return fail(name, f"no account {hb.username!r} in {passwd}", sync)
        if not digest.startswith("$7$"):
            return warn(name, f"cannot verify a hash of this kind in {passwd}", sync)
        if not password_matches(digest, hb.password or ""):
            return fail(
                name,
                f"the hub's password in {ctx.config_path} does not match {hb.username!r} "
                f"in {passwd}",
                sync + ", then systemctl reload mosquitto-hall",
            )
        return ok(name, f"{hb.username}'s password matches the broker's password file {passwd}")
    if binds_client_ids(ctx):
        return warn(
            name,
            f"cannot tell without the broker's password file {passwd}: a login as "
            f"{hb.username!r} would take the running hub's connection over",
            "run hall-edge install, or the doctor with --root where it is",
        )
    return None


def _state(payload: bytes | None) -> Check:
    name = "hub state"
    if payload is None:
        return fail(name, f"no retained {STATE_TOPIC}: the hub has never connected here", HUB_HINT)
    try:
        state = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return fail(name, f"{STATE_TOPIC} is not JSON: {payload[:60]!r}", HUB_HINT)
    if not isinstance(state, dict):
        return fail(name, f"{STATE_TOPIC} is not a JSON object", HUB_HINT)
    since = f" since {state.get('since')}" if state.get("since") else ""
    version = f", version {state.get('version')}" if state.get("version") else ""
    if state.get("state") == "online":
        return ok(name, f"online{since}{version}")
    return fail(name, f"{state.get('state')}{since}: the hub is not connected", HUB_HINT)


def _state_reader(
    ctx: Context, cfg: HubConfig, binds: bool
) -> tuple[str | None, str | None] | None:
    """An account that may read the hub's state without disturbing the hub."""
    try:
        secrets = read_secrets(ctx.layout.broker_secrets)
    except EdgeError:
        secrets = {}
    for screen in cfg.hall_broker.screens:
        if secrets.get(screen):
            return screen, secrets[screen]
    hb = cfg.hall_broker
    if not binds and hb.username is not None:
        return hb.username, hb.password or ""
    return None


async def check_hall_broker(ctx: Context) -> list[Check]:
    cfg = ctx.cfg
    if cfg is None:
        return [warn("hall broker", "not checked: the config cannot be read")]
    anonymous = await login(cfg, cfg.hall_broker, None, None, ctx.timeout_s)
    if anonymous.outcome == "unreachable":
        return _unreachable(anonymous.detail)
    return [
        ok("hall broker", f"{cfg.hall_broker.url} answers"),
        _anonymous_refused(ctx, cfg, anonymous),
        _hub_login(ctx, cfg, anonymous) or await _live_hub_login(ctx, cfg),
        await _hub_state(ctx, cfg, anonymous),
    ]


def _unreachable(detail: str) -> list[Check]:
    skipped = "not checked: the hall broker is unreachable"
    return [
        fail(
            "hall broker",
            detail,
            "systemctl start mosquitto-hall; journalctl -u mosquitto-hall -n 50",
        ),
        warn("anonymous refused", skipped),
        warn("hub login", skipped),
        warn("hub state", skipped),
    ]


def _anonymous_refused(ctx: Context, cfg: HubConfig, anonymous: Login) -> Check:
    if anonymous.outcome != "accepted":
        return ok("anonymous refused", f"anonymous login refused ({anonymous.detail})")
    return fail(
        "anonymous refused",
        f"{cfg.hall_broker.url} accepts logins without a user name",
        f"allow_anonymous false in {ctx.layout.broker_conf}, then restart mosquitto-hall",
    )


async def _live_hub_login(ctx: Context, cfg: HubConfig) -> Check:
    """The hub's login tried for real (safe only where the broker does not bind ids)."""
    hb = cfg.hall_broker
    live = await login(cfg, hb, hb.username, hb.password, ctx.timeout_s)
    if live.outcome == "accepted":
        return ok("hub login", f"{hb.username} logged in to {hb.url}")
    return fail(
        "hub login",
        f"{hb.username} cannot log in: {live.detail}",
        "hall-edge broker sync (makes the hub's account from hall.toml)",
    )


async def _hub_state(ctx: Context, cfg: HubConfig, anonymous: Login) -> Check:
    """The hub's retained state, read with an account that cannot disturb the hub."""
    reader = _state_reader(ctx, cfg, binds_client_ids(ctx))
    if reader is None and anonymous.outcome == "accepted":
        reader = (None, None)
    if reader is None:
        return warn(
            "hub state",
            f"not checked: no read-only account to read {STATE_TOPIC} with (the hall "
            f"screens' passwords are in {ctx.layout.broker_secrets}, root only)",
            "run the doctor as root; configure hall_broker.screens and run broker sync",
        )
    user, password = reader
    got = await login(cfg, cfg.hall_broker, user, password, ctx.timeout_s, read=STATE_TOPIC)
    if got.outcome != "accepted":
        return warn(
            "hub state",
            f"could not log in as {user!r} to read {STATE_TOPIC}: {got.detail}",
            "hall-edge broker sync",
        )
    return _state(got.retained)
