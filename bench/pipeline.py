"""Durable device → cloud throughput and latency of the hub, against a raw relay.

Run: .venv/bin/python bench/pipeline.py [--events 30000] [--seconds 20] [--no-profile]

Path measured: a load generator process publishes QoS 1 rating events (~330 bytes, a
device-side `id` and its send time) to a private hall Mosquitto; `hall-edge run` (default
store settings: synchronous=FULL, group commit, default rules pack) journals each one,
acknowledges it after the commit, and publishes its CloudEvents envelope at QoS 1 to a
private cloud Mosquitto, deleting it from the outbox on the PUBACK; a consumer process
subscribed there times every event.

Baseline, same run, same brokers and processes: a raw relay process (paho-mqtt,
subscribe → publish QoS 1 with a window of 100, same topics, no journal, no envelope).

Phases per target: (1) burst, `--burst` events published as fast as the hall broker
acknowledges (window 200); (2) sustained, `--sustained` events the same way, more than the
uplink's live queue holds (`Uplink.LIVE_LIMIT`, 20,000): past it the hub sends from the
outbox as backlog, paced at `cloud.drain_rate`; (3) latency, `--seconds` at a fixed
1,000 events/s. RSS (peak of samples) and CPU time of the hub / relay process are read
from /proc. The hub runs with the cloud link on MQTT 5 (its default) and on 3.1.1.

Where the time per event goes, two ways: ablations (burst phase only, one change each
against the default hub: rules off, synchronous=NORMAL), which give unbiased costs of those
parts; and the hub under cProfile (a burst, and a run at 1,000 events/s), grouped (paho
receive, paho publish, journal/SQLite, envelope, rules, asyncio...). cProfile inflates
pure-Python call-heavy code far more than C code, so its shares are a map, not a
measurement; the ablations are.
Prints tables and writes bench/results/pipeline.json.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import pstats
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (
    HubRun,
    cpu_s,
    loadavg,
    machine,
    print_table,
    proc_status,
    save,
    started_broker,
    write_hub_config,
)
from peers import consume, generate, spawn, start_relay
from profile_groups import group_profile

from edge.sim.mosquitto import Mosquitto


class RssSampler:
    """Peak RSS of a process, sampled every 0.2 s on a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.peak_kb = max(self.peak_kb, proc_status(self.pid)["VmRSS"])
            except (OSError, KeyError):
                return

    def stop(self) -> float:
        self._stop.set()
        self._t.join()
        return self.peak_kb / 1024


def phase(
    hall: Mosquitto, cloud: Mosquitto, pid: int, prefix: str, count: int, rate: float | None
) -> dict[str, Any]:
    """One load run through the target process `pid`; figures of the generator, the
    consumer, and the target's CPU and RSS."""
    ctx = mp.get_context("fork")
    ready, go = ctx.Event(), ctx.Event()
    out_c: Any = ctx.Queue()
    out_g: Any = ctx.Queue()
    consumer = spawn(consume, cloud.url, count, ready, out_c, 20.0)
    ready.wait(10)
    gen = spawn(generate, hall.url, count, rate, prefix, go, out_g)
    cpu0 = cpu_s(pid)
    rss = RssSampler(pid)
    go.set()
    g = out_g.get(timeout=3600)
    c = out_c.get(timeout=3600)
    cpu = cpu_s(pid) - cpu0
    peak = rss.stop()
    gen.join()
    consumer.join()
    span_s = (c["last"] - g["t0"]) / 1e9
    return {
        "events": count,
        "received_unique": c["unique"],
        "copies": c["copies"],
        "resent_marked": c["resent"],
        "offered_rate": rate,
        "generator_rate": round(count / ((g["t1"] - g["t0"]) / 1e9), 1),
        "end_to_end_rate": round(c["unique"] / span_s, 1),
        "latency_ms": c["latency_ms"],
        "late_sends": g["late"],
        "cpu_s": round(cpu, 2),
        "cpu_us_per_event": round(cpu / count * 1e6, 1),
        "rss_peak_mb": round(peak, 1),
    }


def run_target(kind: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Start fresh brokers and the target (relay or hub), then the two phases."""
    hall, cloud = started_broker(folder, "hall-broker"), started_broker(folder, "cloud-broker")
    relay_proc: subprocess.Popen[str] | None = None
    hub: HubRun | None = None
    try:
        if kind == "relay":
            relay_proc = start_relay(hall.url, cloud.url)
            pid = relay_proc.pid
        else:
            protocol = "3.1.1" if kind.endswith("3.1.1") else "5"
            tables: dict[str, dict[str, Any]] = {"cloud": {"protocol": protocol}}
            if "NORMAL" in kind:
                tables["store"] = {"synchronous": "normal"}
            if "rules off" in kind:
                tables["rules"] = {"enabled": False}
            cfg = write_hub_config(folder, hall.url, cloud.url, tables=tables)
            prof = folder / "hub.prof" if kind.startswith("profile") else None
            hub = HubRun(cfg, profile_to=prof)
            hub.start()
            hub.wait_connected()
            pid = hub.pid
        idle_rss = proc_status(pid)["VmRSS"] / 1024
        result: dict[str, Any] = {"rss_ready_mb": round(idle_rss, 1)}
        if kind != "profile, 1,000/s":
            result["burst"] = phase(hall, cloud, pid, f"{kind}-burst", args.burst, None)
        if kind in MAIN:
            result["sustained"] = phase(hall, cloud, pid, f"{kind}-long", args.sustained, None)
        if kind in MAIN or kind == "profile, 1,000/s":
            n = int(args.rate * args.seconds)
            result["latency"] = phase(hall, cloud, pid, f"{kind}-fixed", n, args.rate)
        if hub is not None:
            hub.stop()
            if kind.startswith("profile"):
                stats = pstats.Stats(str(folder / "hub.prof"))
                n = args.burst if "burst" in kind else int(args.rate * args.seconds)
                result["profile"] = group_profile(stats, n)
        return result
    finally:
        if relay_proc is not None:
            relay_proc.terminate()
            relay_proc.wait()
        if hub is not None:
            hub.stop()
        hall.stop()
        cloud.stop()


MAIN = ("relay", "hub MQTT 5", "hub MQTT 3.1.1")
ABLATIONS = ("hub MQTT 5, rules off", "hub MQTT 5, synchronous=NORMAL")
PROFILES = ("profile, burst", "profile, 1,000/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--burst", type=int, default=15_000, help="burst phase size")
    ap.add_argument("--sustained", type=int, default=60_000, help="sustained phase size")
    ap.add_argument("--seconds", type=float, default=20.0, help="latency phase length")
    ap.add_argument("--rate", type=float, default=1000.0, help="latency phase rate (events/s)")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    ap.add_argument("--no-ablations", action="store_true", help="skip the ablation runs")
    args = ap.parse_args()
    kinds = [*MAIN]
    kinds += [] if args.no_ablations else [*ABLATIONS]
    kinds += [] if args.no_profile else [*PROFILES]
    out: dict[str, Any] = {"machine": machine(), "args": vars(args), "runs": {}}
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
            print(f"running {kind} ...", flush=True)
            out["runs"][kind] = run_target(kind, args, Path(tmp))
    out["loadavg_at_end"] = loadavg()
    report(out)
    save("pipeline", out)


def report(out: dict[str, Any]) -> None:
    runs = out["runs"]
    base = runs["relay"]
    m = out["machine"]
    rows = []
    for kind in MAIN:
        r = runs[kind]
        for ph in ("burst", "sustained"):
            t = r[ph]
            rows.append(
                [
                    kind,
                    f"{ph} {t['events']:,}",
                    f"{t['end_to_end_rate']:,.0f}",
                    f"{t['end_to_end_rate'] / base[ph]['end_to_end_rate']:.2f}",
                    f"{t['cpu_us_per_event']:.0f}",
                    f"{t['resent_marked']:,}",
                    f"{t['copies'] - t['received_unique']}",
                    f"{t['rss_peak_mb']:.0f}",
                ]
            )
    print_table(
        f"throughput device → cloud, QoS 1 both sides ({m['nproc']} cores, {m['cpu']}, "
        f"load {m['loadavg_at_start']})",
        ["target", "phase", "events/s", "vs relay", "CPU µs/ev", "resent", "dup", "RSS MB"],
        rows,
    )
    rows = []
    for kind in MAIN:
        lat = runs[kind]["latency"]
        ms = lat["latency_ms"]
        rows.append(
            [
                kind,
                ms.get("p50", "-"),
                ms.get("p99", "-"),
                ms.get("max", "-"),
                f"{ms.get('p99', 0) / max(1e-9, base['latency']['latency_ms'].get('p99', 0)):.1f}",
                f"{lat['cpu_us_per_event']:.0f}",
                f"{lat['received_unique']:,}/{lat['events']:,}",
                f"{runs[kind]['rss_ready_mb']:.0f} / {lat['rss_peak_mb']:.0f}",
            ]
        )
    print_table(
        f"latency at a fixed {out['args']['rate']:,.0f} events/s "
        f"for {out['args']['seconds']:.0f} s",
        ["target", "p50 ms", "p99 ms", "max ms", "p99 vs relay", "CPU µs/ev", "received", "RSS MB"],
        rows,
    )
    hub_t = runs["hub MQTT 5"]["burst"]
    abl = [
        [
            kind,
            f"{runs[kind]['burst']['end_to_end_rate']:,.0f}",
            f"{runs[kind]['burst']['end_to_end_rate'] / hub_t['end_to_end_rate']:.2f}",
            f"{runs[kind]['burst']['cpu_us_per_event']:.0f}",
            f"{hub_t['cpu_us_per_event'] - runs[kind]['burst']['cpu_us_per_event']:+.0f}",
        ]
        for kind in (*MAIN[1:], *ABLATIONS)
        if kind in runs
    ]
    print_table(
        "ablations, burst phase: one change against the default hub (MQTT 5, FULL, rules on)",
        ["hub", "events/s", "vs default", "CPU µs/ev", "CPU saved µs/ev"],
        abl,
    )
    for kind in PROFILES:
        prof = runs.get(kind, {}).get("profile")
        if not prof:
            continue
        print_table(
            f"where the hub's time per event goes: {kind} (cProfile wall time, "
            f"{prof['events']:,} events; profiling inflates Python code)",
            ["group", "µs/event", "share"],
            [
                [g, f"{v['us_per_event']:.1f}", f"{v['share']:.0%}"]
                for g, v in prof["groups"].items()
            ],
        )
        print_table(
            f"top functions by self time: {kind}",
            ["function", "µs/event"],
            [[f, f"{us:.1f}"] for f, us in prof["top"][:12]],
        )


if __name__ == "__main__":
    main()
