"""What the hub costs at rest: memory, idle CPU, start-up time.

Run: .venv/bin/python bench/resources.py [--idle-seconds 60] [--backlog 1000000]

- RSS idle with 200 configured generic-MQTT devices (and with 1, same run).
- RSS while 1,000,000 events wait in the outbox with the cloud away, over 30 s, and while
  50,000 more arrive live through the hall broker: it must stay flat (the backlog is on
  disk; the uplink keeps no copies while disconnected).
- Idle CPU over 60 s with no traffic, both links up: utime+stime from /proc/PID/stat, and
  context switches of all its threads (wake-ups) from /proc/PID/task/*/status.
- Start-up time: from the exec of `hall-edge run` to its "ready" log line and to both
  links connected; empty journal with 1 and 200 devices, and with the 1,000,000-event
  backlog (median of 3).
Baselines, same run: the raw relay process of bench/pipeline.py (two paho clients, no
journal) for RSS, idle CPU and start-up, and `python -c "import paho.mqtt.client"`.
Prints a table and writes bench/results/resources.json.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backlog import prefill
from common import (
    ROOT,
    HubRun,
    cpu_s,
    loadavg,
    machine,
    outbox_count,
    print_table,
    rss_mb,
    save,
    started_broker,
    wakeups,
    write_hub_config,
)
from peers import generate, spawn, start_relay

from edge.sim.mosquitto import Mosquitto, free_port


def rss_over(pid: int, seconds: float, every: float = 1.0) -> dict[str, float]:
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append(rss_mb(pid))
        time.sleep(every)
    return {
        "min": round(min(samples), 1),
        "max": round(max(samples), 1),
        "mean": round(statistics.fmean(samples), 1),
        "first": round(samples[0], 1),
        "last": round(samples[-1], 1),
    }


def hub_in(folder: Path, hall_url: str, cloud_url: str, devices: int, code: Path = ROOT) -> HubRun:
    """A hub of its own hall (its own client ids: two hubs of one hall would take each
    other's broker sessions over, again and again)."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = write_hub_config(folder, hall_url, cloud_url, devices=devices, hall_id=folder.name)
    return HubRun(cfg, code=code)


def startup(config: Path, cloud_up: bool, code: Path = ROOT) -> dict[str, float]:
    """Median of 3 starts: seconds to the "ready" line and to the links connected (the hall
    link only when the cloud is away); and the first start's alone: on a prefilled backlog
    that one replays every event into the rules' state (`Journal.write_batch` saves none),
    the later ones start from the state the first saved at its stop, as a hub that ran
    through the outage would (it saves its rule state every second or so)."""
    ready, linked = [], []
    for i in range(3):
        hub = HubRun(config, code=code)
        hub.log = config.parent / f"start-{i}.log"
        hub.start()
        ready.append(hub.wait_log(" ready: ", timeout=600))
        if cloud_up:
            linked.append(hub.wait_connected())
        else:
            linked.append(hub.wait_log("hall broker: connected"))
        hub.stop()
    return {
        "ready_s": round(statistics.median(ready), 2),
        "connected_s": round(statistics.median(linked), 2),
        "first_ready_s": round(ready[0], 2),
    }


def python_floor() -> float:
    """Seconds for a bare interpreter to import paho (median of 3)."""
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", "import paho.mqtt.client"], check=True)
        times.append(time.monotonic() - t0)
    return round(statistics.median(times), 2)


def relay_startup(hall_url: str, cloud_url: str) -> tuple[float, subprocess.Popen[str]]:
    t0 = time.monotonic()
    proc = start_relay(hall_url, cloud_url)
    return round(time.monotonic() - t0, 2), proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--backlog", type=int, default=1_000_000)
    ap.add_argument("--live", type=int, default=50_000, help="events pushed with the cloud away")
    ap.add_argument(
        "--compare",
        metavar="DIR",
        help="only idle CPU and start-up, 50 devices: the hub of DIR (A) beside this one (B)",
    )
    args = ap.parse_args()
    out: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="bench-resources-") as tmp:
        root = Path(tmp)
        hall, cloud = started_broker(root, "hall-broker"), started_broker(root, "cloud-broker")
        try:
            if args.compare:
                out["compare"] = idle_compare(root, hall, cloud, args)
                save("resources-compare", out)
                return
            out.update(at_rest(root, hall, cloud, args))
            out.update(with_backlog(root, hall, args))
        finally:
            hall.stop()
            cloud.stop()
    out["loadavg_at_end"] = loadavg()
    report(out, args)
    save("resources", out)


def at_rest(
    root: Path, hall: Mosquitto, cloud: Mosquitto, args: argparse.Namespace
) -> dict[str, Any]:
    """RSS and idle CPU of the hub (1 and 200 devices) and of the relay, side by side."""
    res: dict[str, Any] = {"python_import_paho_s": python_floor()}
    res["startup_1_device"] = startup(hub_in(root / "s1", hall.url, cloud.url, 1).config, True)
    res["startup_200_devices"] = startup(
        hub_in(root / "s200", hall.url, cloud.url, 200).config, True
    )
    relay_s, relay = relay_startup(hall.url, cloud.url)
    res["startup_relay_s"] = relay_s
    one = hub_in(root / "one", hall.url, cloud.url, 1)
    many = hub_in(root / "many", hall.url, cloud.url, 200)
    try:
        one.start()
        many.start()
        one.wait_connected()
        many.wait_connected()
        time.sleep(10)  # settle: first metrics, first ticks
        pids = {"hub, 200 devices": many.pid, "hub, 1 device": one.pid, "relay": relay.pid}
        cpu0 = {k: cpu_s(p) for k, p in pids.items()}
        sw0 = {k: wakeups(p) for k, p in pids.items()}
        t0 = time.monotonic()
        samples: dict[str, list[float]] = {k: [] for k in pids}
        while time.monotonic() - t0 < args.idle_seconds:
            for k, p in pids.items():
                samples[k].append(rss_mb(p))
            time.sleep(1.0)
        took = time.monotonic() - t0
        for k, p in pids.items():
            cpu = cpu_s(p) - cpu0[k]
            res[f"idle {k}"] = {
                "rss_mb": {
                    "mean": round(statistics.fmean(samples[k]), 1),
                    "max": round(max(samples[k]), 1),
                },
                "cpu_s": round(cpu, 3),
                "cpu_percent": round(100 * cpu / took, 3),
                "wakeups_per_s": round((wakeups(p) - sw0[k]) / took, 1),
            }
    finally:
        one.stop()
        many.stop()
        relay.terminate()
        relay.wait()
    return res


def idle_compare(
    root: Path, hall: Mosquitto, cloud: Mosquitto, args: argparse.Namespace
) -> dict[str, Any]:
    """Hubs A (`--compare`) and B (this checkout), 50 devices each, idle side by side over
    the same `--idle-seconds`; then their start-ups, alternating."""
    code = {"A": Path(args.compare).resolve(), "B": ROOT}
    hubs = {k: hub_in(root / f"idle-{k}", hall.url, cloud.url, 50, c) for k, c in code.items()}
    res: dict[str, Any] = {"code": {k: str(c) for k, c in code.items()}}
    try:
        for hub in hubs.values():
            hub.start()
        for hub in hubs.values():
            hub.wait_connected()
        time.sleep(10)  # settle: first metrics, first ticks
        cpu0 = {k: cpu_s(h.pid) for k, h in hubs.items()}
        sw0 = {k: wakeups(h.pid) for k, h in hubs.items()}
        t0 = time.monotonic()
        time.sleep(args.idle_seconds)
        took = time.monotonic() - t0
        for k, h in hubs.items():
            res[f"idle {k}"] = {
                "cpu_percent": round(100 * (cpu_s(h.pid) - cpu0[k]) / took, 3),
                "wakeups_per_s": round((wakeups(h.pid) - sw0[k]) / took, 1),
                "rss_mb": round(rss_mb(h.pid), 1),
            }
    finally:
        for hub in hubs.values():
            hub.stop()
    for k in ("A", "B", "A", "B"):
        got = startup(hubs[k].config, True, code[k])
        res.setdefault(f"startup {k}", []).append(got)
    rows = [
        [
            k,
            res[f"idle {k}"]["cpu_percent"],
            res[f"idle {k}"]["wakeups_per_s"],
            res[f"idle {k}"]["rss_mb"],
            [s["ready_s"] for s in res[f"startup {k}"]],
        ]
        for k in ("A", "B")
    ]
    print_table(
        f"idle, 50 devices, {args.idle_seconds:g} s side by side; A = {code['A']}",
        ["hub", "CPU %", "wake-ups/s", "RSS MB", "start → ready s (2 × median of 3)"],
        rows,
    )
    return res


def with_backlog(root: Path, hall: Mosquitto, args: argparse.Namespace) -> dict[str, Any]:
    """The hub with `--backlog` events waiting and the cloud away (nothing listens there)."""
    res: dict[str, Any] = {}
    folder = root / "backlog"
    folder.mkdir()
    print(f"prefilling {args.backlog:,} events ...", flush=True)
    res["prefill"] = prefill(folder / "hall.db", args.backlog)
    dead_cloud = f"mqtt://127.0.0.1:{free_port()}"
    config = write_hub_config(folder, hall.url, dead_cloud, devices=10)
    res["startup_with_backlog"] = startup(config, False)
    hub = HubRun(folder / "hall.toml")
    try:
        hub.start()
        hub.wait_log("hall broker: connected")
        time.sleep(5)
        res["rss_backlog_waiting"] = rss_over(hub.pid, 30)
        # In five chunks, RSS after each: a plateau is bounded state, a slope is a leak.
        ctx = mp.get_context("fork")
        chunk = args.live // 5
        during: list[float] = []
        after: list[float] = []
        for k in range(5):
            go = ctx.Event()
            out_g: Any = ctx.Queue()
            gen = spawn(generate, hall.url, chunk, None, f"away{k}", go, out_g)
            go.set()
            while gen.is_alive():
                during.append(rss_mb(hub.pid))
                time.sleep(0.5)
            out_g.get(timeout=60)
            gen.join()
            time.sleep(2)
            after.append(round(rss_mb(hub.pid), 1))
        res["rss_while_arriving"] = {
            "min": round(min(during), 1),
            "max": round(max(during), 1),
            "after_each_chunk": after,
            "events": chunk * 5,
        }
        res["outbox_after"] = outbox_count(folder / "hall.db")
    finally:
        hub.stop()
    return res


def report(out: dict[str, Any], args: argparse.Namespace) -> None:
    m = out["machine"]
    rows = []
    for k in ("hub, 200 devices", "hub, 1 device", "relay"):
        r = out[f"idle {k}"]
        rows.append(
            [
                f"idle: {k}",
                f"{r['rss_mb']['mean']} MB",
                f"{r['cpu_percent']:.2f} %",
                f"{r['wakeups_per_s']}/s",
            ]
        )
    print_table(
        f"at rest, {args.idle_seconds:.0f} s, no traffic "
        f"({m['nproc']} cores, {m['cpu']}, load {m['loadavg_at_start']})",
        ["process", "RSS", "CPU", "wake-ups"],
        rows,
    )
    b = out["rss_backlog_waiting"]
    a = out["rss_while_arriving"]
    base = out["idle hub, 200 devices"]["rss_mb"]["mean"]
    print_table(
        "memory with a backlog on disk, cloud away",
        ["state", "RSS MB", "vs idle hub (200 devices)"],
        [
            [f"{args.backlog:,} waiting, 30 s", f"{b['min']}–{b['max']}", f"{b['max'] / base:.2f}"],
            [
                f"+{a['events']:,} arriving, RSS after each fifth",
                " → ".join(str(x) for x in a["after_each_chunk"]),
                f"{a['max'] / base:.2f}",
            ],
        ],
    )
    print_table(
        "start-up (median of 3): exec → ready / → links connected; the first start alone",
        ["case", "ready s", "connected s", "first start, ready s"],
        [
            [
                "hub, 1 device",
                out["startup_1_device"]["ready_s"],
                out["startup_1_device"]["connected_s"],
                out["startup_1_device"].get("first_ready_s", "-"),
            ],
            [
                "hub, 200 devices",
                out["startup_200_devices"]["ready_s"],
                out["startup_200_devices"]["connected_s"],
                out["startup_200_devices"].get("first_ready_s", "-"),
            ],
            [
                f"hub, {args.backlog:,} waiting (cloud away)",
                out["startup_with_backlog"]["ready_s"],
                out["startup_with_backlog"]["connected_s"],
                out["startup_with_backlog"].get("first_ready_s", "-"),
            ],
            ["relay (baseline)", "-", out["startup_relay_s"], "-"],
            ["python -c 'import paho.mqtt.client'", out["python_import_paho_s"], "-", "-"],
        ],
    )


if __name__ == "__main__":
    main()
