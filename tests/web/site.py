"""The hub's HTTP side as a test reaches it: requests, JSON, parsed metrics."""

from __future__ import annotations

import http.client
import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


class Site:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        status, _, body = self.request(method, path, **kw)
        return status, json.loads(body)

    def metrics(self) -> dict[str, list[Any]]:
        status, headers, body = self.request("GET", "/metrics")
        assert status == 200
        assert headers["content-type"].startswith("text/plain")
        out: dict[str, list[Any]] = {}
        for fam in text_string_to_metric_families(body.decode()):
            for s in fam.samples:
                out.setdefault(s.name, []).append(s)
        return out
