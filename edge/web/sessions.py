"""Logins: sessions in memory, a CSRF token each, and a bound on failed attempts.

Sessions live in the hub's memory: a restart logs everyone out, which for a hall console
is the safe side. The cookie is HttpOnly and SameSite=Strict; every action also needs the
session's CSRF token in a header, which a page of another origin cannot read or set.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from edge.web import users as u

COOKIE = "hall_session"
WINDOW_S = 60.0
# Past this many addresses and names with failures on record, those whose last failure is
# older than the window are forgotten: guessing many names must not grow the hub's memory.
KEEP_KEYS = 1024


@dataclass(slots=True)
class Session:
    name: str
    csrf: str
    expires: float


class Sessions:
    def __init__(self, users_file: Path | None, hours: float, attempts_per_min: int) -> None:
        self.users_file = users_file
        self.ttl_s = hours * 3600
        self.attempts = attempts_per_min
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, deque[float]] = {}
        self.refused = 0
        self.limited = 0

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        s = self._sessions.get(token)
        if s is None:
            return None
        if s.expires < time.monotonic():
            del self._sessions[token]
            return None
        return s

    def retry_after(self, *keys: str) -> float:
        """Seconds until these keys (address, name) may try again; 0 when they may now."""
        now = time.monotonic()
        wait = 0.0
        for key in keys:
            q = self._failures.get(key)
            if q is None:
                continue
            while q and q[0] < now - WINDOW_S:
                q.popleft()
            if not q:
                del self._failures[key]
            elif len(q) >= self.attempts:
                wait = max(wait, q[0] + WINDOW_S - now)
        return wait

    async def login(self, name: str, password: str, peer: str) -> tuple[str, Session] | None:
        """A new session's (token, session), or None for a wrong name or password."""
        users = u.read_users(self.users_file) if self.users_file is not None else {}
        digest = users.get(name)
        # argon2 takes ~50 ms of CPU by design: off the loop, so devices keep being served.
        ok = await asyncio.to_thread(u.verify, digest or u.dummy_digest(), password)
        if not ok or digest is None:
            now = time.monotonic()
            for key in (f"addr:{peer}", f"name:{name}"):
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > KEEP_KEYS:
                self._forget_before(now - WINDOW_S)
            self.refused += 1
            return None
        now = time.monotonic()
        # Sessions nobody used again until they expired go at the next login.
        self._sessions = {t: s for t, s in self._sessions.items() if s.expires >= now}
        token = secrets.token_urlsafe(32)
        session = Session(name, secrets.token_urlsafe(24), now + self.ttl_s)
        self._sessions[token] = session
        return token, session

    def _forget_before(self, cutoff: float) -> None:
        self._failures = {k: q for k, q in self._failures.items() if q and q[-1] >= cutoff}

    def logout(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)

    @staticmethod
    def csrf_ok(session: Session, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(session.csrf, header)

    def cookie(self, token: str) -> str:
        return f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={int(self.ttl_s)}"

    @staticmethod
    def cleared() -> str:
        return f"{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
