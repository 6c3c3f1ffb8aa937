"""`hall-cloud command` against a real hub: the reply as one JSON line, over the MQTT 5
response topic or the replies topic, resent with the same cmd_id until the hub is there,
executed once; no reply by the deadline is exit status 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.support.cloud import HALL, FakeDevice
from tests.support.hall import ROOT, write_config


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("cloud-command")
    hb, cb = Mosquitto(tmp / "hb"), Mosquitto(tmp / "cb")
    hb.start()
    cb.start()
    devices = [{"id": d, "profile": "generic-mqtt"} for d in ("printer-ok", "silent")]
    cfg = write_config(
        tmp / "hall.toml", hb.url, cb.url, devices, extra="[commands]\ntimeout_s = 1.0\n"
    )
    hub = HubProcess(cfg)
    ok = FakeDevice(hb.url, "printer-ok", 200)
    silent = FakeDevice(hb.url, "silent", None)
    yield {"hb": hb, "cb": cb, "hub": hub, "ok": ok}
    for d in (ok, silent):
        d.close()
    hub.stop()
    hb.stop()
    cb.stop()


def run_command(broker: str, *args: str, wait: bool = True) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cloud",
            "command",
            "--broker",
            broker,
            "--log-level",
            "info",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if wait:
        proc.wait(60)
    return proc


def test_resent_until_the_hub_is_back_and_run_once(hall: dict[str, Any]) -> None:
    # The hub is not connected yet: the first sends reach nobody (its session is clean).
    proc = run_command(
        hall["cb"].url,
        HALL,
        "printer-ok",
        "printer.query_status",
        "--cmd-id",
        "c-resend",
        "--every",
        "0.5s",
        "--deadline",
        "40s",
        wait=False,
    )
    time.sleep(1.5)
    hall["hub"].start()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    reply = json.loads(out)
    assert (reply["cmd_id"], reply["code"]) == ("c-resend", 200)
    assert err.count("command c-resend sent") >= 3  # resent while the hub was away
    assert "via response_topic" in err  # MQTT 5: the reply came to our own topic
    # Sent again with the same cmd_id: the first reply comes back, the device is not asked.
    again = run_command(
        hall["cb"].url,
        HALL,
        "printer-ok",
        "printer.query_status",
        "--cmd-id",
        "c-resend",
        "--protocol",
        "3.1.1",
    )
    assert again.returncode == 0
    assert json.loads(again.stdout.read() if again.stdout else "")["code"] == 200
    assert "via replies_topic" in (again.stderr.read() if again.stderr else "")
    asked = [r for r in hall["ok"].received if r["cmd_id"] == "c-resend"]
    assert len(asked) == 1


def test_error_replies_and_the_deadline(hall: dict[str, Any]) -> None:
    if hall["hub"].proc is None:
        hall["hub"].start()
    p = run_command(hall["cb"].url, HALL, "silent", "caller.beep", "--deadline", "20s")
    assert p.returncode == 1 and json.loads(p.stdout.read() if p.stdout else "")["code"] == 408
    p = run_command(hall["cb"].url, HALL, "nobody", "x.y")
    assert p.returncode == 1 and json.loads(p.stdout.read() if p.stdout else "")["code"] == 404
    t = time.monotonic()
    p = run_command(hall["cb"].url, "no-such-hall", "hub", "config.get", "--deadline", "1.5s")
    assert p.returncode == 3 and time.monotonic() - t >= 1.5
    assert json.loads(p.stdout.read() if p.stdout else "")["code"] is None
    p = run_command(hall["cb"].url, HALL, "hub", "config.get", "--args", "[1]")
    assert p.returncode == 2 and "--args: expected a JSON object" in (
        p.stderr.read() if p.stderr else ""
    )
