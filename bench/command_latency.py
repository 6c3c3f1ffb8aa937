"""Command and reply latency at low load, brokers with Nagle off (as shipped) against on.

Run: .venv/bin/python bench/command_latency.py [--commands 300] [--gap-ms 10] [--rounds 2]

The real hub (`hall-edge run`, one generic-MQTT device `dev-0`) between two private
Mosquitto brokers, and two clients, each with TCP_NODELAY on its own socket so that only
the brokers differ: a device on the hall broker that answers every command at once, and
a cloud client that sends one command every `--gap-ms` (alternately to `dev-0` and to the
hub's own `config.get`) and times the replies on `halls/{hall}/replies/+`:
- command → reply: the cloud's publish to the reply's arrival, through the device;
- device reply → cloud: the device's publish of its reply (a time in its `data`) to the
  arrival at the cloud;
- hub command → reply: `config.get`, answered by the hub itself.
Variants, interleaved over `--rounds` in one run: both brokers with `set_tcp_nodelay true`
(what the project ships: systemd/mosquitto-hall.conf, the demo, the tests), and the same
brokers with Mosquitto's default (Nagle on), the baseline. Prints a table and writes
bench/results/command_latency.json.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import HALL_ID, HubRun, loadavg, machine, print_table, save, write_hub_config

from edge.sim.mosquitto import Mosquitto

Samples = dict[str, list[float]]  # measure -> ms


def _nodelay(_c: paho.Client, _u: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _client(url: str, client_id: str) -> paho.Client:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    c.on_socket_open = _nodelay
    c.connect("127.0.0.1", int(url.rsplit(":", 1)[1]))
    return c


def _device(url: str) -> paho.Client:
    """dev-0: answers each command at once, its publish time (monotonic ns) in `data`."""
    c = _client(url, "bench-dev-0")
    enc, dec = msgspec.json.Encoder(), msgspec.json.Decoder()

    def on_message(cl: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        cmd = dec.decode(msg.payload)
        reply = {"cmd_id": cmd["cmd_id"], "code": 200, "msg": "ok"}
        cl.publish(
            "hall/devices/dev-0/replies",
            enc.encode({**reply, "data": {"t": time.monotonic_ns()}}),
            1,
        )

    c.on_message = on_message
    c.on_connect = lambda cl, *_a: cl.subscribe("hall/devices/dev-0/commands/#", 1)
    c.loop_start()
    return c


def _exchange(cloud_url: str, commands: int, gap_s: float) -> Samples:
    """Send `commands` commands from the cloud, one every `gap_s`; their latencies."""
    sent: dict[str, int] = {}
    out: Samples = {"command → reply": [], "device reply → cloud": [], "hub command → reply": []}
    dec = msgspec.json.Decoder()
    done = threading.Semaphore(0)

    def on_message(_c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        now = time.monotonic_ns()
        reply = dec.decode(msg.payload)
        t0 = sent.pop(str(reply.get("cmd_id")), None)
        if t0 is None:
            return
        if msg.topic.endswith("/hub"):
            out["hub command → reply"].append((now - t0) / 1e6)
        else:
            out["command → reply"].append((now - t0) / 1e6)
            t_dev = (reply.get("data") or {}).get("t")
            if t_dev is not None:
                out["device reply → cloud"].append((now - t_dev) / 1e6)
        done.release()

    subscribed = threading.Event()
    c = _client(cloud_url, "bench-cloud")
    c.on_message = on_message
    c.on_subscribe = lambda *_a: subscribed.set()
    c.on_connect = lambda cl, *_a: cl.subscribe(f"halls/{HALL_ID}/replies/+", 1)
    c.loop_start()
    subscribed.wait(10)
    enc = msgspec.json.Encoder()
    tag = time.monotonic_ns()
    try:
        for i in range(commands):
            to_hub = i % 2 == 1
            cmd_id = f"lat-{tag}-{i}"  # never repeated: the hub answers a repeat from its log
            topic = (
                f"halls/{HALL_ID}/commands/hub/config.get"
                if to_hub
                else f"halls/{HALL_ID}/commands/dev-0/display.show"
            )
            body = {"cmd_id": cmd_id, "args": {"key": "hall.id"} if to_hub else {"text": "A012"}}
            sent[cmd_id] = time.monotonic_ns()
            c.publish(topic, enc.encode(body), 1)
            if not done.acquire(timeout=15):
                raise RuntimeError(f"no reply to {cmd_id} in 15 s")
            time.sleep(gap_s)
    finally:
        c.loop_stop()
        c.disconnect()
    return out


def run_variant(folder: Path, nodelay: bool, args: argparse.Namespace) -> Samples:
    hall = Mosquitto(folder / "hall-broker", persistence=False, nodelay=nodelay)
    cloud = Mosquitto(folder / "cloud-broker", persistence=False, nodelay=nodelay)
    hall.start()
    cloud.start()
    hub = HubRun(write_hub_config(folder, hall.url, cloud.url, devices=1))
    device: paho.Client | None = None
    try:
        hub.start()
        hub.wait_connected()
        device = _device(hall.url)
        time.sleep(1.0)  # the device's subscription and the hub's to the cloud are in place
        _exchange(cloud.url, 20, args.gap_ms / 1000)  # warm-up, not counted
        return _exchange(cloud.url, args.commands, args.gap_ms / 1000)
    finally:
        if device is not None:
            device.loop_stop()
            device.disconnect()
        hub.stop()
        hall.stop()
        cloud.stop()


def _pct(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": round(q[49], 2), "p99": round(q[98], 2), "max": round(max(ms), 2), "n": len(ms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commands", type=int, default=300, help="per variant and round")
    ap.add_argument("--gap-ms", type=float, default=10.0, help="between a reply and the next")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    out: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    samples: dict[str, Samples] = {"nodelay (shipped)": {}, "Nagle on (baseline)": {}}
    with tempfile.TemporaryDirectory(prefix="bench-cmdlat-") as tmp:
        for r in range(args.rounds):
            order = [True, False] if r % 2 == 0 else [False, True]
            for nodelay in order:
                name = "nodelay (shipped)" if nodelay else "Nagle on (baseline)"
                print(f"round {r + 1}: {name} ...", flush=True)
                got = run_variant(Path(tmp) / f"r{r}-{int(nodelay)}", nodelay, args)
                for measure, ms in got.items():
                    samples[name].setdefault(measure, []).extend(ms)
    out["loadavg_at_end"] = loadavg()
    out["latency_ms"] = {v: {m: _pct(ms) for m, ms in s.items()} for v, s in samples.items()}
    base, ship = out["latency_ms"]["Nagle on (baseline)"], out["latency_ms"]["nodelay (shipped)"]
    rows = []
    for measure in ship:
        a, b = base[measure], ship[measure]
        rows.append(
            [
                measure,
                f"{b['p50']} / {b['p99']} / {b['max']}",
                f"{a['p50']} / {a['p99']} / {a['max']}",
                f"{b['p99'] / max(1e-9, a['p99']):.3f}",
                b["n"],
            ]
        )
    print_table(
        f"commands at low load, one every {args.gap_ms:g} ms ({out['machine']['nproc']} cores, "
        f"load {out['machine']['loadavg_at_start']})",
        ["measure", "nodelay p50/p99/max ms", "Nagle on p50/p99/max ms", "p99 ratio", "n"],
        rows,
    )
    save("command_latency", out)


if __name__ == "__main__":
    main()
