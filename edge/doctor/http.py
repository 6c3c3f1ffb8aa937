"""The hub's HTTP side: does it answer `/readyz` where the config says, and can anyone log
in to the console."""

from __future__ import annotations

import http.client
import json

from edge.config.http import listen_address
from edge.doctor.context import Context
from edge.doctor.result import Check, fail, ok, warn
from edge.errors import ConfigError
from edge.web.users import read_users


def check_http(ctx: Context) -> list[Check]:
    if ctx.cfg is None:
        return [warn("http", "not checked: the config cannot be read")]
    address = listen_address(ctx.cfg.http.listen)
    if address is None:
        return [ok("http", 'off ([http] listen = "")')]
    host, port = address
    url = f"http://{host}:{port}/readyz"
    conn = http.client.HTTPConnection(host, port, timeout=ctx.timeout_s)
    try:
        conn.request("GET", "/readyz")
        r = conn.getresponse()
        body = json.loads(r.read() or b"{}")
    except (OSError, ValueError) as exc:
        return [
            fail(
                "http",
                f"nothing answers on {url} ({exc})",
                "is the hub running (systemctl status hall-edge)? Another program on the port?",
            ),
            *_users(ctx),
        ]
    finally:
        conn.close()
    if r.status == 200:
        check = ok("http", f"{url}: ready; cloud {body.get('cloud', '?')}")
    else:
        check = warn("http", f"{url}: {r.status}, {body.get('reason', '')}", "see the hub's log")
    return [check, *_users(ctx)]


def _users(ctx: Context) -> list[Check]:
    assert ctx.cfg is not None
    if not ctx.cfg.http.console or not ctx.cfg.http.users_file:
        return []
    path = ctx.cfg.resolve(ctx.cfg.http.users_file)
    try:
        users = read_users(path)
    except ConfigError as exc:
        return [fail("console users", str(exc), f"hall-edge users add NAME -c {ctx.config_path}")]
    if not users:
        return [
            warn(
                "console users",
                f"{path}: nobody can log in (the console is read-only)",
                f"hall-edge users add NAME -c {ctx.config_path}",
            )
        ]
    return [ok("console users", f"{len(users)} in {path}")]
