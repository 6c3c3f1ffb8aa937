"""Throughput of the serial framers: frames/s on a long stream fed in 4 KiB chunks.

For each framer, a stream of valid frames (sizes typical for its devices) and the same
frames with 10 % of the stream's bytes as random garbage between them. Baselines measured
in the same run on the same bytes, also in 4 KiB chunks: `bytes.split` on the framing's end
byte (what a C-speed scan of the bytes costs) and `zlib.crc32` (a C-speed pass over every
byte). Ratio = framer time / baseline time. Also how many times over the framer could
keep up with a 9600-baud 8N1 line (960 bytes/s), the speed of the hall's RS-485 bus.

    python bench/framers.py [--frames N] [--repeat R]

Prints a table and writes bench/results/framers.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.drivers.framing import Frame, Framer, crc16_modbus, make_framer

CHUNK = 4096
LINE_RATE = 960  # bytes/s on a 9600-baud 8N1 line
RESULTS = Path(__file__).resolve().parent / "results" / "framers.json"


@dataclass(frozen=True)
class Workload:
    """One framer configuration and how to make frames typical of its devices."""

    label: str
    make: Callable[[], Framer]
    frame: Callable[[random.Random], Frame]
    end_byte: bytes  # what the split baseline splits on


def _ascii(rng: random.Random, low: int, high: int) -> bytes:
    return bytes(rng.randrange(0x20, 0x7F) for _ in range(rng.randint(low, high)))


def _modbus_response(rng: random.Random) -> Frame:
    count = 2 * rng.randint(1, 10)
    return Frame(bytes((count,)) + rng.randbytes(count), rng.randint(1, 32), 3)


WORKLOADS = [
    Workload(
        "dlt645",
        lambda: make_framer("dlt645"),
        lambda r: Frame(r.randbytes(r.randint(1, 8)), r.randint(1, 32), r.choice((1, 0x11))),
        b"\x16",
    ),
    Workload("modbus_rtu master", lambda: make_framer("modbus_rtu"), _modbus_response, b"\x03"),
    Workload(
        "modbus_rtu slave",
        lambda: make_framer("modbus_rtu", role="slave"),
        lambda r: Frame(r.randbytes(4), r.randint(1, 32), 3),
        b"\x03",
    ),
    Workload(
        "escpos_status",
        lambda: make_framer("escpos_status"),
        lambda r: Frame(bytes((r.choice((0x12, 0x16, 0x1E, 0x72)),))),
        b"\x12",
    ),
    Workload("stx_etx", lambda: make_framer("stx_etx"), lambda r: Frame(_ascii(r, 8, 40)), b"\x03"),
    Workload(
        "stx_etx escape",
        lambda: make_framer("stx_etx", escape=True),
        lambda r: Frame(r.randbytes(r.randint(8, 40))),
        b"\x03",
    ),
    Workload("line", lambda: make_framer("line"), lambda r: Frame(_ascii(r, 10, 60)), b"\r\n"),
]


@dataclass
class Row:
    """One measured stream."""

    framer: str
    stream: str
    frames_sent: int
    frames_found: int
    garbage_items: int
    stream_bytes: int
    seconds: float
    frames_per_s: float
    mb_per_s: float
    split_seconds: float
    ratio_to_split: float
    crc32_seconds: float
    ratio_to_crc32: float
    times_line_rate: float


def build_stream(work: Workload, frames: int, garbage: float, seed: int) -> bytes:
    """`frames` encoded frames; with garbage > 0, that share of the bytes is random noise."""
    rng = random.Random(seed)
    framer = work.make()
    wire = [framer.encode(work.frame(rng)) for _ in range(frames)]
    if garbage <= 0:
        return b"".join(wire)
    # Noise blocks after about half the frames, averaging what makes the budget come out.
    budget = int(sum(map(len, wire)) * garbage / (1 - garbage))
    mean = max(1, budget * 2 // len(wire))
    pieces: list[bytes] = []
    for item in wire:
        pieces.append(item)
        if budget > 0 and rng.random() < 0.5:
            size = min(budget, rng.randint(1, 2 * mean - 1))
            pieces.append(rng.randbytes(size))
            budget -= size
    pieces.append(rng.randbytes(budget))
    return b"".join(pieces)


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """Shortest wall time of `repeat` runs (the least disturbed by the rest of the machine)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def measure(work: Workload, stream_name: str, stream: bytes, sent: int, repeat: int) -> Row:
    """Feed `stream` in 4 KiB chunks to a fresh framer, and run the baselines on it."""
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    counts = {"frames": 0, "garbage": 0}

    def run_framer() -> None:
        framer = work.make()
        frames = garbage = 0
        for chunk in chunks:
            for item in framer.feed(chunk):
                if isinstance(item, Frame):
                    frames += 1
                else:
                    garbage += 1
        garbage += len(framer.flush())
        counts["frames"], counts["garbage"] = frames, garbage

    def run_split() -> None:
        for chunk in chunks:
            chunk.split(work.end_byte)

    def run_crc32() -> None:
        for chunk in chunks:
            zlib.crc32(chunk)

    seconds = best_of(repeat, run_framer)
    split_seconds = best_of(repeat, run_split)
    crc32_seconds = best_of(repeat, run_crc32)
    return Row(
        framer=work.label,
        stream=stream_name,
        frames_sent=sent,
        frames_found=counts["frames"],
        garbage_items=counts["garbage"],
        stream_bytes=len(stream),
        seconds=seconds,
        frames_per_s=counts["frames"] / seconds,
        mb_per_s=len(stream) / seconds / 1e6,
        split_seconds=split_seconds,
        ratio_to_split=seconds / split_seconds,
        crc32_seconds=crc32_seconds,
        ratio_to_crc32=seconds / crc32_seconds,
        times_line_rate=len(stream) / seconds / LINE_RATE,
    )


def crc_row(repeat: int) -> dict[str, float]:
    """crc16_modbus (a Python loop over a table) against zlib.crc32 on 64 KiB."""
    data = random.Random(7).randbytes(65536)
    ours = best_of(repeat, lambda: crc16_modbus(data))
    theirs = best_of(repeat, lambda: zlib.crc32(data))
    return {
        "crc16_modbus_mb_per_s": len(data) / ours / 1e6,
        "zlib_crc32_mb_per_s": len(data) / theirs / 1e6,
        "ratio": ours / theirs,
    }


def main() -> None:
    """Run every workload, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=50_000, help="frames per stream")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (best kept)")
    args = parser.parse_args()

    rows: list[Row] = []
    for work in WORKLOADS:
        for name, garbage in (("valid", 0.0), ("10% garbage", 0.10)):
            stream = build_stream(work, args.frames, garbage, seed=645)
            rows.append(measure(work, name, stream, args.frames, args.repeat))
    crc = crc_row(args.repeat)

    header = (
        f"{'framer':<18} {'stream':<12} {'found/sent':>13} {'bytes':>9} {'ms':>8} "
        f"{'frames/s':>10} {'MB/s':>6} {'×split':>7} {'×crc32':>7} {'×9600bd':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.framer:<18} {row.stream:<12} "
            f"{f'{row.frames_found}/{row.frames_sent}':>13} {row.stream_bytes:>9} "
            f"{row.seconds * 1e3:>8.1f} {row.frames_per_s:>10,.0f} {row.mb_per_s:>6.2f} "
            f"{row.ratio_to_split:>7.1f} {row.ratio_to_crc32:>7.1f} {row.times_line_rate:>9,.0f}"
        )
    print(
        f"\ncrc16_modbus {crc['crc16_modbus_mb_per_s']:.2f} MB/s, zlib.crc32 "
        f"{crc['zlib_crc32_mb_per_s']:.0f} MB/s (ratio {crc['ratio']:.0f})"
    )
    print(
        "×split, ×crc32: framer time / baseline time on the same chunks; "
        "×9600bd: framer throughput / a 9600-baud line"
    )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "chunk_bytes": CHUNK,
        "frames_per_stream": args.frames,
        "repeat": args.repeat,
        "rows": [asdict(row) for row in rows],
        "crc16_modbus": crc,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
