"""Fetching a snapshot URL from a camera stand-in: http.server on 127.0.0.1, a free port."""

from __future__ import annotations

import asyncio
import base64
import io
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from edge.errors import ConfigError, LinkError, PayloadError
from edge.faces.snapshot import SnapshotPoller, fetch_snapshot, snapshot_settings


def make_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buf, "JPEG")
    return buf.getvalue()


JPEG = make_jpeg()
AUTH = "Basic " + base64.b64encode(b"admin:s3cret").decode()


class Camera(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/picture.jpg":
            self._send(200, JPEG, "image/jpeg")
        elif self.path == "/page":
            self._send(200, b"<html>not a picture</html>", "text/html")
        elif self.path == "/slow":
            time.sleep(1.0)
            self._send(200, JPEG, "image/jpeg")
        elif self.path == "/private.jpg":
            if self.headers.get("Authorization") != AUTH:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="camera"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(200, JPEG, "image/jpeg")
        else:
            self._send(404, b"", "text/plain")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def camera_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Camera)  # port 0: a free port
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetches_the_jpeg(camera_url: str) -> None:
    assert asyncio.run(fetch_snapshot(f"{camera_url}/picture.jpg")) == JPEG


def test_authenticates_when_the_camera_asks(camera_url: str) -> None:
    with pytest.raises(LinkError, match="HTTP 401"):
        asyncio.run(fetch_snapshot(f"{camera_url}/private.jpg"))
    got = asyncio.run(
        fetch_snapshot(f"{camera_url}/private.jpg", username="admin", password="s3cret")
    )
    assert got == JPEG


def test_failures_are_named(camera_url: str) -> None:
    with pytest.raises(LinkError, match="HTTP 404"):
        asyncio.run(fetch_snapshot(f"{camera_url}/nothing"))
    with pytest.raises(PayloadError, match="snapshot is not a JPEG"):
        asyncio.run(fetch_snapshot(f"{camera_url}/page"))
    with pytest.raises(PayloadError, match="snapshot too large"):
        asyncio.run(fetch_snapshot(f"{camera_url}/picture.jpg", max_bytes=100))
    started = time.monotonic()
    with pytest.raises(LinkError, match="timed out"):
        asyncio.run(fetch_snapshot(f"{camera_url}/slow", timeout_s=0.2))
    assert time.monotonic() - started < 0.9
    with pytest.raises(LinkError, match="only http and https"):
        asyncio.run(fetch_snapshot("file:///etc/passwd"))


def test_poller_hands_frames_over_at_its_interval_and_counts_failures(camera_url: str) -> None:
    got: list[tuple[str, bytes, datetime]] = []
    stamp = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    settings = snapshot_settings(
        {"snapshot_url": f"{camera_url}/picture.jpg", "interval_s": 0.1},
        "hall.toml",
        "devices[0].settings",
    )
    poller = SnapshotPoller(
        "cam-door", settings, lambda c, j, t: got.append((c, j, t)), clock=lambda: stamp
    )

    async def run_for(seconds: float) -> None:
        task = asyncio.create_task(poller.run())
        await asyncio.sleep(seconds)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_for(0.55))
    assert 4 <= len(got) <= 7, len(got)
    assert got[0] == ("cam-door", JPEG, stamp)
    assert poller.fetched == len(got) and poller.failures == 0

    bad = snapshot_settings({"snapshot_url": f"{camera_url}/page"}, "hall.toml", "x")
    failing = SnapshotPoller("cam-2", bad, lambda c, j, t: got.append((c, j, t)))
    assert asyncio.run(failing.fetch_once()) is False
    assert (
        failing.failures == 1
        and failing.last_error is not None
        and "not a JPEG" in failing.last_error
    )


def test_settings_are_checked() -> None:
    s = snapshot_settings(
        {"snapshot_url": "http://10.0.0.5/ISAPI/Streaming/channels/101/picture"},
        "hall.toml",
        "devices[2].settings",
        defaults={"interval_s": 2.0},
    )
    assert (s.interval_s, s.timeout_s, s.username) == (2.0, 3.0, None)
    with pytest.raises(
        ConfigError,
        match=r"hall\.toml: devices\[2\]\.settings\.snapshot_url: expected an http:// or https://",
    ):
        snapshot_settings(
            {"snapshot_url": "rtsp://10.0.0.5/live"}, "hall.toml", "devices[2].settings"
        )
    with pytest.raises(
        ConfigError, match=r"devices\[2\]\.settings\.interval_s: expected at least 0\.05 seconds"
    ):
        snapshot_settings(
            {"snapshot_url": "http://cam/x.jpg", "interval_s": 0},
            "hall.toml",
            "devices[2].settings",
        )
    with pytest.raises(
        ConfigError,
        match=r"devices\[2\]\.settings\.snapshot_url: expected this key, which is required",
    ):
        snapshot_settings({}, "hall.toml", "devices[2].settings")
