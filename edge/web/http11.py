"""A small HTTP/1.1 server: asyncio streams with h11 for the protocol.

Why not aiohttp: measured in the hub process, `import aiohttp.web` adds 10.9 MB of RSS and
110 modules, `import h11` 0.2 MB; the hub's aim is 50 MB under load, and what it serves is a
handful of routes, static files and one event stream. h11 does the part that is easy to get
wrong (parsing, framing, keep-alive, chunked bodies); this module adds the limits a hall
LAN needs: a body bound (413), a header bound (431 by h11's size limit → 400), idle and write
timeouts, and a bound on the connections at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import h11
import msgspec

from edge.errors import EdgeError

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_HEAD = 16 * 1024
IDLE_S = 30.0  # a keep-alive connection with no request for this long is closed
WRITE_S = 10.0  # a client that takes no bytes for this long is dropped (slow or gone)
READ_CHUNK = 16 * 1024

_json = msgspec.json.Encoder()
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


class HttpError(EdgeError):
    """Raised by a handler: answered as `{"error": message}` with this status."""

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes
    peer: str

    def cookie(self, name: str) -> str | None:
        raw = self.headers.get("cookie")
        if not raw:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except CookieError:
            return None
        morsel = jar.get(name)
        return None if morsel is None else morsel.value

    def json(self) -> Any:
        """The body as JSON; HttpError 400 when it is not."""
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError as exc:
            raise HttpError(400, f"the body is not JSON ({exc})") from None


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Stream:
    """A response whose body is written as it comes (Server-Sent Events)."""

    chunks: AsyncIterator[bytes]
    content_type: str = "text/event-stream; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request], Awaitable[Response | Stream]]


def json_response(
    data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    return Response(status, _json.encode(data), "application/json", headers or [])


def error_response(
    status: int, message: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    return json_response({"error": message}, status, headers)


class HttpServer:
    """Serves `handler` on host:port until `close()`."""

    def __init__(self, handler: Handler, *, max_body: int = MAX_BODY, max_connections: int = 512):
        self.handler = handler
        self.max_body = max_body
        self.max_connections = max_connections
        self.connections = 0
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; returns the bound address (port 0 picks a free one)."""
        self._server = await asyncio.start_server(self._accept, host, port, limit=READ_CHUNK)
        sock = self._server.sockets[0].getsockname()
        return str(sock[0]), int(sock[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self.connections >= self.max_connections:
            writer.close()
            return
        self._tasks.add(task)
        self.connections += 1
        # Small buffers: a stalled client holds at most this much of the hub's memory.
        writer.transport.set_write_buffer_limits(high=64 * 1024)
        try:
            await _Connection(self, reader, writer).serve()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("http: connection failed")
        finally:
            self.connections -= 1
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class _Connection:
    def __init__(
        self, server: HttpServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ):
        self.server, self.reader, self.writer = server, reader, writer
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        peer = writer.get_extra_info("peername")
        self.peer = str(peer[0]) if isinstance(peer, tuple) else "local"

    async def serve(self) -> None:
        while True:
            try:
                request = await self._read_request()
            except h11.RemoteProtocolError as exc:
                if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await self._send(error_response(400, f"malformed request ({exc})"))
                return
            except HttpError as exc:
                await self._send(error_response(exc.status, exc.message, exc.headers))
                return
            if request is None:
                return
            self.server.requests += 1
            try:
                response = await self.server.handler(request)
            except HttpError as exc:
                response = error_response(exc.status, exc.message, exc.headers)
            except Exception:
                log.exception("http: %s %s failed", request.method, request.path)
                response = error_response(500, "internal error (see the hub's log)")
            if isinstance(response, Stream):
                await self._stream(response)
                return
            await self._send(response)
            if self.conn.our_state is h11.MUST_CLOSE or self.conn.their_state is h11.MUST_CLOSE:
                return
            try:
                self.conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _event(self) -> Any:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await asyncio.wait_for(self.reader.read(READ_CHUNK), IDLE_S)
            self.conn.receive_data(data)

    async def _read_request(self) -> Request | None:
        try:
            event = await self._event()
        except TimeoutError:
            return None
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise h11.RemoteProtocolError("expected a request line")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
        length = headers.get("content-length", "0")
        if length.isdigit() and int(length) > self.server.max_body:
            raise HttpError(413, f"the body is over {self.server.max_body // 1024} KiB")
        body = bytearray()
        while True:
            part = await self._event()
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > self.server.max_body:
                    raise HttpError(413, f"the body is over {self.server.max_body // 1024} KiB")
            elif isinstance(part, h11.EndOfMessage):
                break
            else:
                return None
        target = urlsplit(event.target.decode("latin-1"))
        return Request(
            event.method.decode("ascii"),
            unquote(target.path) or "/",
            dict(parse_qsl(target.query)),
            headers,
            bytes(body),
            self.peer,
        )

    def _head(self, content_type: str, extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [
            ("content-type", content_type),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            *extra,
        ]

    async def _send(self, r: Response) -> None:
        headers = self._head(r.content_type, r.headers)
        headers.append(("content-length", str(len(r.body))))
        reason = (
            HTTPStatus(r.status).phrase.encode()
            if r.status in HTTPStatus._value2member_map_
            else b""
        )
        out = self.conn.send(h11.Response(status_code=r.status, headers=headers, reason=reason))
        out += self.conn.send(h11.Data(data=r.body)) if r.body else b""
        out += self.conn.send(h11.EndOfMessage())
        await self._write(out)

    async def _stream(self, s: Stream) -> None:
        headers = self._head(s.content_type, [("cache-control", "no-store"), *s.headers])
        try:
            await self._write(
                self.conn.send(h11.Response(status_code=200, headers=headers, reason=b"OK"))
            )
            async for chunk in s.chunks:
                await self._write(self.conn.send(h11.Data(data=chunk)))
        finally:
            aclose = getattr(s.chunks, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    async def _write(self, data: bytes | None) -> None:
        if not data:
            return
        self.writer.write(data)
        await asyncio.wait_for(self.writer.drain(), WRITE_S)
