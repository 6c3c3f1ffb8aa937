"""The hub's HTTP routes: metrics and health for operations, the console's pages and API.

The API's shape is docs/console.md; read-only views are open, every action needs a session
cookie and the session's CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.web.hall_view import HallView
from edge.web.http11 import HttpError, Request, Response, Stream, error_response, json_response
from edge.web.live import Live
from edge.web.metrics import CONTENT_TYPE, Metrics
from edge.web.sessions import COOKIE, Session, Sessions

STATIC = Path(__file__).parent / "static"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_ALERT_ACK = re.compile(r"^/api/alerts/(\d{1,18})/ack$")
_COUNTER = re.compile(
    r"^/api/counters/(\d{1,4})/(open|close|pause|resume|recall|call_next|finish)$"
)

Check = Callable[[], tuple[bool, dict[str, Any]]]


@dataclass(slots=True)
class Actions:
    """What a logged-in user may do, carried out by the hub (edge/hub/parts/web.py)."""

    ack_alert: Callable[[str, str], Awaitable[bool]]  # alert id, user → known?
    counter: Callable[[int, str, str], Awaitable[dict[str, Any]]]  # counter, action, user
    report: Callable[[str], Awaitable[dict[str, Any]]]  # month → the KPI month report


class WebApp:
    def __init__(
        self,
        metrics: Metrics,
        liveness: Check,
        readiness: Check,
        *,
        view: HallView | None = None,
        live: Live | None = None,
        sessions: Sessions | None = None,
        actions: Actions | None = None,
        max_clients: int = 200,
    ) -> None:
        self.metrics, self.liveness, self.readiness = metrics, liveness, readiness
        self.view, self.live, self.sessions, self.actions = view, live, sessions, actions
        self.max_clients = max_clients

    async def __call__(self, req: Request) -> Response | Stream:
        path = req.path
        if path in ("/metrics", "/healthz", "/readyz"):
            _method(req, "GET")
            return self._ops_endpoint(path)
        if self.view is None:
            raise HttpError(404, f"no such page: {path} (the console is off)")
        if req.method == "POST":
            return await self._post(req)
        _method(req, "GET")
        if path == "/api/report":
            return await self.report(req)
        return self._get(req)

    def _ops_endpoint(self, path: str) -> Response:
        if path == "/metrics":
            return Response(200, self.metrics.exposition(), CONTENT_TYPE)
        ok, body = (self.liveness if path == "/healthz" else self.readiness)()
        return json_response(body, 200 if ok else 503)

    # -- reading -----------------------------------------------------------------------
    def _get(self, req: Request) -> Response | Stream:
        assert self.view is not None and self.live is not None
        path = req.path
        if path == "/":
            return _static("index.html")
        if path == "/report":
            return _static("report.html")
        if path.startswith("/static/"):
            return _static(path[len("/static/") :])
        if path == "/api/state":
            session = self._session(req)
            return json_response({**self.view.state(), "user": _user(session)})
        if path == "/api/events":
            if self.live.clients >= self.max_clients:
                raise HttpError(503, "too many live pages open", [("retry-after", "5")])
            return Stream(self.live.stream())
        if path == "/api/session":
            session = self._session(req)
            if session is None:
                raise HttpError(401, "not logged in")
            return json_response({"name": session.name, "csrf": session.csrf})
        raise HttpError(404, f"no such page: {path}")

    # -- login and actions -------------------------------------------------------------
    async def _post(self, req: Request) -> Response:
        assert self.sessions is not None and self.actions is not None
        if req.path == "/api/login":
            return await self._login(req)
        if req.path == "/api/logout":
            self.sessions.logout(req.cookie(COOKIE))
            return json_response({"ok": True}, headers=[("set-cookie", self.sessions.cleared())])
        session = self._session(req)
        if session is None:
            raise HttpError(401, "log in first")
        if not self.sessions.csrf_ok(session, req.headers.get("x-csrf-token")):
            raise HttpError(403, "missing or wrong X-CSRF-Token")
        if m := _ALERT_ACK.match(req.path):
            if not await self.actions.ack_alert(m.group(1), session.name):
                raise HttpError(404, f"no alert {m.group(1)}")
            return json_response({"id": m.group(1), "acked": True})
        if m := _COUNTER.match(req.path):
            return json_response(
                await self.actions.counter(int(m.group(1)), m.group(2), session.name)
            )
        raise HttpError(404, f"no such action: {req.path}")

    async def _login(self, req: Request) -> Response:
        assert self.sessions is not None
        body = req.json()
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) for k in ("name", "password")
        ):
            raise HttpError(400, 'a JSON body {"name": "...", "password": "..."}')
        name, password = body["name"], body["password"]
        wait = self.sessions.retry_after(f"addr:{req.peer}", f"name:{name}")
        if wait > 0:
            self.sessions.limited += 1
            return json_response(
                {"error": "too many failed logins; wait", "retry_after_s": round(wait)},
                429,
                [("retry-after", str(max(1, round(wait))))],
            )
        made = await self.sessions.login(name, password, req.peer)
        if made is None:
            return error_response(401, "wrong name or password")
        token, session = made
        return json_response(
            {"name": session.name, "csrf": session.csrf},
            headers=[("set-cookie", self.sessions.cookie(token))],
        )

    def _session(self, req: Request) -> Session | None:
        return None if self.sessions is None else self.sessions.get(req.cookie(COOKIE))

    async def report(self, req: Request) -> Response:
        assert self.actions is not None
        month = req.query.get("month", "")
        if not _MONTH.match(month):
            raise HttpError(400, "month=YYYY-MM")
        return json_response(await self.actions.report(month))


def _method(req: Request, *allowed: str) -> None:
    if req.method not in allowed:
        raise HttpError(405, f"{req.method} is not allowed here", [("allow", ", ".join(allowed))])


def _user(session: Session | None) -> dict[str, str] | None:
    return None if session is None else {"name": session.name}


def _static(name: str) -> Response:
    root = STATIC.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HttpError(404, f"no such file: {name}")
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    return Response(200, path.read_bytes(), kind, [("cache-control", "no-cache")])
