"""Fetching a network camera's snapshot URL at an interval (stdlib urllib, in a thread).

Network cameras serve their current picture at a URL (e.g. Hikvision ISAPI
`/ISAPI/Streaming/channels/101/picture`, Dahua `/cgi-bin/snapshot.cgi`), usually behind
HTTP digest authentication. One fetch runs at a time per camera; a camera that does not
answer within the timeout costs one failed fetch, never a backlog.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from edge.clock import utcnow
from edge.config.hub import Section
from edge.config.schema import convert
from edge.errors import ConfigError, LinkError, PayloadError

__all__ = ["SnapshotPoller", "SnapshotSettings", "fetch_snapshot", "snapshot_settings"]

log = logging.getLogger(__name__)

_JPEG_MAGIC = b"\xff\xd8\xff"


class SnapshotSettings(Section, frozen=True):
    """A snapshot camera's device settings (`[[devices]] settings` in the hub config)."""

    snapshot_url: str
    interval_s: float = 1.0
    timeout_s: float = 3.0
    username: str | None = None
    password: str | None = None
    max_bytes: int = 4_000_000


def snapshot_settings(
    settings: Mapping[str, Any], file: str, prefix: str, defaults: Mapping[str, Any] | None = None
) -> SnapshotSettings:
    """Validate a device's snapshot settings (profile defaults first, device settings on top)."""
    merged = {**(defaults or {}), **settings}
    parsed = convert(merged, SnapshotSettings, file, prefix)
    parts = urlsplit(parsed.snapshot_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            file, f"{prefix}.snapshot_url", "an http:// or https:// URL", parsed.snapshot_url
        )
    if parsed.interval_s < 0.05:
        raise ConfigError(file, f"{prefix}.interval_s", "at least 0.05 seconds", parsed.interval_s)
    if parsed.timeout_s <= 0:
        raise ConfigError(file, f"{prefix}.timeout_s", "seconds above 0", parsed.timeout_s)
    return parsed


def _opener(url: str, username: str | None, password: str | None) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = []
    if username is not None:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, url, username, password or "")
        # the camera's challenge decides which of the two is used
        handlers += [
            urllib.request.HTTPDigestAuthHandler(passwords),
            urllib.request.HTTPBasicAuthHandler(passwords),
        ]
    # Snapshot URLs are on the hall LAN: never route them through a proxy from the environment.
    handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def _fetch_blocking(
    url: str, timeout_s: float, max_bytes: int, username: str | None, password: str | None
) -> bytes:
    if urlsplit(url).scheme not in ("http", "https"):
        raise LinkError(f"{url}: only http and https snapshot URLs are fetched")
    request = urllib.request.Request(url, headers={"Accept": "image/jpeg"})
    try:
        with _opener(url, username, password).open(request, timeout=timeout_s) as response:
            body: bytes = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise LinkError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LinkError(f"{url}: {reason}") from None
    if len(body) > max_bytes:
        raise PayloadError("snapshot too large", f"over {max_bytes} bytes from {url}")
    if not body.startswith(_JPEG_MAGIC):
        raise PayloadError("snapshot is not a JPEG", f"{len(body)} bytes from {url}")
    return body


async def fetch_snapshot(
    url: str,
    *,
    timeout_s: float = 3.0,
    max_bytes: int = 4_000_000,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    """Fetch one JPEG snapshot off the event loop; raises LinkError or PayloadError."""
    return await asyncio.to_thread(_fetch_blocking, url, timeout_s, max_bytes, username, password)


class SnapshotPoller:
    """Fetches one camera's snapshot every `interval_s` and hands each frame to `submit`."""

    def __init__(
        self,
        camera_id: str,
        settings: SnapshotSettings,
        submit: Callable[[str, bytes, datetime], None],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.camera_id = camera_id
        self.settings = settings
        self._submit = submit
        self._clock = clock
        self.fetched = 0
        self.failures = 0
        self.last_error: str | None = None

    async def fetch_once(self) -> bool:
        """One fetch; True if a frame was handed over. Failures are counted, not raised."""
        s = self.settings
        at = self._clock()  # the camera takes the picture when asked, not when it arrives
        try:
            jpeg = await fetch_snapshot(
                s.snapshot_url,
                timeout_s=s.timeout_s,
                max_bytes=s.max_bytes,
                username=s.username,
                password=s.password,
            )
        except (LinkError, PayloadError) as exc:
            self.failures += 1
            if str(exc) != self.last_error:  # log a change of state, not every attempt
                log.warning("camera %s: snapshot failed: %s", self.camera_id, exc)
            self.last_error = str(exc)
            return False
        if self.last_error is not None:
            log.info("camera %s: snapshots work again", self.camera_id)
        self.last_error = None
        self.fetched += 1
        self._submit(self.camera_id, jpeg, at)
        return True

    async def run(self) -> None:
        """Fetch forever at the configured pace (cancel the task to stop)."""
        while True:
            started = time.monotonic()
            await self.fetch_once()
            await asyncio.sleep(max(0.0, self.settings.interval_s - (time.monotonic() - started)))
