"""Framer throughput: frames per second through each framer's `feed`, bytes arriving in chunks.

Run: .venv/bin/python bench/framer_throughput.py [--frames N]

For each framing a stream of N valid frames (typical hall payloads) is encoded once, then fed
to a fresh framer in 64-byte chunks (what a serial read returns at 9600-115200 baud) and in
4096-byte chunks (a backlog read at once). The baseline, measured in the same run, is the
cheapest framing there is: `bytes.split` of CRLF lines with no checks and no buffering, so
the ratio says what each framer's checks and resynchronisation cost relative to that.
A 9600-baud line carries about 960 bytes/s: ~70 DL/T645 frames/s at most.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from edge.drivers.framing import Frame, make_framer

SAMPLES: dict[str, tuple[dict[str, object], Callable[[int], Frame]]] = {
    "dlt645": ({}, lambda i: Frame(bytes([i & 0xFF, 0x0C]), (i % 30) + 1, 0x01)),
    "modbus_rtu": (
        {"role": "master"},
        lambda i: Frame(bytes([4, 0, (i % 5) + 1, (i >> 8) & 0xFF, i & 0xFF]), (i % 8) + 1, 0x03),
    ),
    "escpos_status": ({}, lambda i: Frame(bytes([0x12 | (0x0C if i % 7 == 0 else 0)]))),
    "stx_etx": (
        {},
        lambda i: Frame(
            f"D|A{i % 1000:03d}|{i % 12 + 1}|请A{i % 1000:03d}号到窗口".encode("gb18030")
        ),
    ),
    "line": ({}, lambda i: Frame(f"REQ,K1-1127-{i:06d},0{i % 6 + 1},{i % 3}".encode())),
}


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def run_framer(name: str, n: int, chunk: int) -> tuple[float, int, int]:
    """(frames/s, frames found, wire bytes) for `n` frames fed in `chunk`-byte reads."""
    params, sample = SAMPLES[name]
    encoder = make_framer(name, **params)
    wire = b"".join(encoder.encode(sample(i)) for i in range(n))
    pieces = chunks(wire, chunk)
    framer = make_framer(name, **params)
    found = 0
    t0 = time.perf_counter()
    for piece in pieces:
        for item in framer.feed(piece):
            found += isinstance(item, Frame)
    elapsed = time.perf_counter() - t0
    return found / elapsed, found, len(wire)


def run_baseline(n: int, chunk: int) -> float:
    """Lines split with bytes.split and a carried tail: no checks at all."""
    wire = b"".join(f"REQ,K1-1127-{i:06d},0{i % 6 + 1},{i % 3}\r\n".encode() for i in range(n))
    pieces = chunks(wire, chunk)
    found = 0
    tail = b""
    t0 = time.perf_counter()
    for piece in pieces:
        *lines, tail = (tail + piece).split(b"\r\n")
        found += len(lines)
    elapsed = time.perf_counter() - t0
    assert found == n
    return found / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000, help="frames per framer")
    args = parser.parse_args()
    n = args.frames
    print(f"{n} frames per framer, best of 3 runs; Python {sys.version.split()[0]}")
    print(f"{'framer':<15}{'chunk':>7}{'frames/s':>14}{'MB/s':>9}{'vs baseline':>13}")
    for chunk in (64, 4096):
        base = max(run_baseline(n, chunk) for _ in range(3))
        print(f"{'baseline split':<15}{chunk:>7}{base:>14,.0f}{'':>9}{1.0:>12.2f}x")
        for name in SAMPLES:
            best = max((run_framer(name, n, chunk) for _ in range(3)), key=lambda r: r[0])
            fps, found, size = best
            assert found == n, f"{name}: {found} of {n} frames found"
            mbps = fps * size / n / 1e6
            print(f"{name:<15}{chunk:>7}{fps:>14,.0f}{mbps:>9.1f}{fps / base:>12.2f}x")


if __name__ == "__main__":
    main()
