"""What the HTTP side costs the hub: RSS and pipeline throughput/latency with HTTP off, with
the console on, with /metrics scraped every second, and with 100 live (SSE) pages open,
half of which read nothing at all (a stalled tablet, a frozen browser tab).

Run: .venv/bin/python bench/web.py [--rounds 3] [--burst 15000] [--seconds 15]

Each variant gets fresh brokers and a fresh hub (default store, synchronous=FULL, default
rules pack); the variants run interleaved round by round, and the table shows medians and
the ratio against "HTTP off" of the same rounds. Load as bench/pipeline.py: a generator
process (QoS 1 ratings, window 200) and a consumer process on the cloud broker.
Prints a table and writes bench/results/web.json.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import HubRun, loadavg, machine, print_table, proc_status, save, started_broker
from common import write_hub_config as hub_config
from pipeline import phase

from edge.sim.mosquitto import free_port

VARIANTS = ("HTTP off", "console on", "console + 1 Hz scrape", "+ 100 SSE pages (50 stalled)")


class Scraper:
    """GET /metrics every second; the scrape times."""

    def __init__(self, port: int) -> None:
        self.port, self.times_ms = port, list[float]()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            t0 = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                r.read()
            self.times_ms.append((time.perf_counter() - t0) * 1000)

    def stop(self) -> list[float]:
        self._stop.set()
        self._t.join()
        return self.times_ms


class Pages:
    """`n` SSE connections; the first half read everything, the rest never read."""

    def __init__(self, port: int, n: int) -> None:
        self.socks: list[socket.socket] = []
        self.received = 0
        self._stop = threading.Event()
        for i in range(n):
            s = socket.socket()
            if i >= n // 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /api/events HTTP/1.1\r\nHost: hall\r\n\r\n")
            self.socks.append(s)
        self._readers = [
            threading.Thread(target=self._read, args=(s,), daemon=True)
            for s in self.socks[: n // 2]
        ]
        for t in self._readers:
            t.start()

    def _read(self, s: socket.socket) -> None:
        s.settimeout(0.5)
        while not self._stop.is_set():
            try:
                data = s.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            self.received += len(data)

    def close(self) -> None:
        self._stop.set()
        for s in self.socks:
            s.close()


def run_variant(kind: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    hall, cloud = started_broker(folder, "hall-broker"), started_broker(folder, "cloud-broker")
    port = free_port()
    tables: dict[str, Any] = {}
    if kind != "HTTP off":
        tables["http"] = {"listen": f"127.0.0.1:{port}"}
    hub = HubRun(hub_config(folder, hall.url, cloud.url, tables=tables))
    scraper: Scraper | None = None
    pages: Pages | None = None
    try:
        hub.start()
        hub.wait_connected()
        time.sleep(0.5)
        out: dict[str, Any] = {"rss_ready_mb": round(proc_status(hub.pid)["VmRSS"] / 1024, 1)}
        if "SSE" in kind:
            pages = Pages(port, 100)
            time.sleep(1.0)
            out["rss_with_pages_mb"] = round(proc_status(hub.pid)["VmRSS"] / 1024, 1)
        if "scrape" in kind or "SSE" in kind:
            scraper = Scraper(port)
        out["burst"] = phase(hall, cloud, hub.pid, f"{kind}-burst", args.burst, None)
        n = int(args.rate * args.seconds)
        out["latency"] = phase(hall, cloud, hub.pid, f"{kind}-fixed", n, args.rate)
        out["rss_after_mb"] = round(proc_status(hub.pid)["VmRSS"] / 1024, 1)
        if scraper is not None:
            times = sorted(scraper.stop())
            scraper = None
            out["scrapes"] = len(times)
            out["scrape_p50_ms"] = round(statistics.median(times), 2) if times else None
        if pages is not None:
            out["sse_bytes_read"] = pages.received
        return out
    finally:
        if scraper is not None:
            scraper.stop()
        if pages is not None:
            pages.close()
        hub.stop()
        hall.stop()
        cloud.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--burst", type=int, default=15_000)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--rate", type=float, default=1000.0)
    args = ap.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in VARIANTS}
    for r in range(args.rounds):
        order = VARIANTS[r % len(VARIANTS) :] + VARIANTS[: r % len(VARIANTS)]
        for kind in order:
            print(f"round {r + 1}: {kind} ...", flush=True)
            with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
                runs[kind].append(run_variant(kind, args, Path(tmp)))
    out = {"machine": machine(), "args": vars(args), "runs": runs, "loadavg_at_end": loadavg()}
    report(runs)
    save("web", out)


def _median(rows: list[dict[str, Any]], *path: str) -> float:
    values = []
    for row in rows:
        v: Any = row
        for p in path:
            v = v[p]
        values.append(float(v))
    return statistics.median(values)


def report(runs: dict[str, list[dict[str, Any]]]) -> None:
    base = _median(runs["HTTP off"], "burst", "end_to_end_rate")
    rows = []
    for kind, rs in runs.items():
        rate = _median(rs, "burst", "end_to_end_rate")
        rows.append(
            [
                kind,
                f"{rate:,.0f}",
                f"{rate / base:.2f}",
                _median(rs, "latency", "latency_ms", "p50"),
                _median(rs, "latency", "latency_ms", "p99"),
                _median(rs, "rss_ready_mb"),
                _median(rs, "burst", "rss_peak_mb"),
                _median(rs, "rss_after_mb"),
                rs[0].get("scrape_p50_ms", "-"),
            ]
        )
    print_table(
        "the HTTP side's cost (medians of the rounds)",
        [
            "variant",
            "burst ev/s",
            "× off",
            "p50 ms @1k/s",
            "p99 ms @1k/s",
            "RSS ready MB",
            "RSS peak MB",
            "RSS after MB",
            "scrape ms",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
