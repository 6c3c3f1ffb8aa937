"""The demo hall's hub config (hall.toml): brokers, journal, queue, rules and the devices.

Written as a real TOML file and read back with `edge.config.load`, so the demo runs the
hub exactly as an installer's config would, and the file is there to read afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from edge.config import HubConfig, load
from edge.errors import EdgeError
from edge.sim.hall_config import Table, toml_tables

DEMO_HALL_ID = "demo-hall"
DEMO_HALL_NAME = "国网演示供电营业厅"
MARKER = ".hall-edge-demo"  # says a folder's journal was made by the demo (safe to reset)
JOURNAL_FILES = ("hall.db", "hall.db-wal", "hall.db-shm")

# The services the simulated customers ask for (edge/sim/hall_day.py SERVICES), with the
# ticket letters and norms of a typical hall.
SERVICES: tuple[tuple[str, str, str, str, float], ...] = (
    ("payment", "A", "缴费", "Payment", 5.0),
    ("invoice", "B", "发票", "Invoice", 10.0),
    ("new_install", "C", "新装", "New installation", 20.0),
    ("capacity_change", "D", "增减容", "Capacity change", 20.0),
    ("name_transfer", "E", "过户", "Name transfer", 20.0),
    ("consultation", "F", "咨询", "Consultation", 10.0),
)
# Counters serve every service (so no customer waits for a closed specialty) but prefer
# one family each, in turn: cash desk, business applications, enquiries.
PREFERENCES: tuple[tuple[str, ...], ...] = (
    ("payment", "invoice", "consultation", "new_install", "capacity_change", "name_transfer"),
    ("new_install", "capacity_change", "name_transfer", "payment", "invoice", "consultation"),
    ("consultation", "invoice", "payment", "name_transfer", "capacity_change", "new_install"),
)
# Device groups of the default rule pack (docs/rules.md) for the simulated devices.
GROUPS = {"display-1": "hall-screens", "robot-1": "robots"}


def queue_tables(counters: int, devices: Iterable[str]) -> dict[str, Table | list[Table]]:
    """`[queue]` with the services and one counter per simulated caller."""
    ids = set(devices)
    rows: list[Table] = []
    for n in range(1, counters + 1):
        counter: dict[str, Any] = {
            "number": n,
            "services": list(PREFERENCES[(n - 1) % len(PREFERENCES)]),
            "name": f"{n}号窗口",
        }
        if f"caller-{n}" in ids:
            counter["caller"] = f"caller-{n}"
        if f"pad-{n}" in ids:
            counter["rating_pad"] = f"pad-{n}"
        rows.append(counter)
    return {
        "queue": {
            "enabled": True,
            # The hub runs on the simulated day's clock (08:30 on, ×speed): the demo opens
            # all day so a late start or a long run never meets a closed hall; the day
            # turns in the one minute that stays closed.
            "reset_at": "23:59",
            # Hall seconds: at ×600 a real tenth of a second is a hall minute, and a pad's
            # rating must not time out while its frame is still on the way (a pad takes
            # at most 255 s).
            "rating_timeout_s": 120,
            "status_min_interval_s": 60.0,
        },
        "queue.opening_hours": {"open": "00:00", "close": "23:59"},
        "queue.services": [
            {"code": code, "letter": letter, "name_zh": zh, "name_en": en, "norm_min": norm}
            for code, letter, zh, en, norm in SERVICES
        ],
        "queue.counters": rows,
    }


def device_tables(devices: Sequence[Mapping[str, Any]]) -> list[Table]:
    """`[[devices]]` from `HallLinks.devices()`, with the rule pack's groups added."""
    out: list[Table] = []
    for dev in devices:
        entry: dict[str, Any] = {"id": dev["id"], "profile": dev["profile"]}
        if dev.get("name"):
            entry["name"] = dev["name"]
        group = dev.get("group") or GROUPS.get(str(dev["id"]))
        if group:
            entry["group"] = group
        entry["settings"] = dict(dev.get("settings") or {})
        out.append(entry)
    return out


def demo_config_text(
    hall_url: str,
    cloud_url: str,
    devices: Sequence[Mapping[str, Any]],
    counters: int,
    hall_id: str = DEMO_HALL_ID,
    http: str = "",
) -> str:
    """The whole hall.toml of the demo hall."""
    tables: dict[str, Table | Sequence[Table]] = {
        "hall": {"id": hall_id, "name": DEMO_HALL_NAME, "timezone": "Asia/Shanghai"},
        "hall_broker": {"url": hall_url, "client_id": f"hall-edge-{hall_id}"},
        "cloud": {
            "url": cloud_url,
            "protocol": "5",
            "window": 100,
            "backoff_min_s": 0.2,
            "backoff_max_s": 2.0,
        },
        # The demo journal is thrown away after the run: "normal" spares the disk an fsync
        # per batch; a real hall keeps the default "full".
        "store": {"path": "hall.db", "synchronous": "normal"},
        # A command for a device that went offline waits 30 s, not the default 10 min: the
        # demo is shorter than that.
        "commands": {"timeout_s": 5.0, "offline_wait_s": 30.0},
        **queue_tables(counters, (str(d["id"]) for d in devices)),
        "kpi": {"enabled": True},
        "rules": {"enabled": True, "builtin": True, "watch": False},
        # The HT-D30 display controller drives the LED wall and the loudspeakers: it is the
        # hall's voice as well as its screen. (The hub runs on the hall day's clock, so
        # waits are in hall minutes and the wait rule needs no scaling: edge/clock.py.)
        "rules.params": {"hall_voice": "display-1", "vip_counter": "1"},
        # No camera is simulated, and face recognition would load dlib at start-up.
        "faces": {"enabled": False},
        # The hall console, with the one user the demo makes (edge/demo/runner.py).
        "http": {"listen": http, "users_file": "users"},
        "devices": device_tables(devices),
    }
    head = (
        "# hall.toml of the `hall-edge demo` hall: written by edge/demo/config.py for this run.\n"
    )
    return head + "\n" + toml_tables(tables)


def prepare_workdir(workdir: Path) -> None:
    """Make the folder ready for a fresh demo hall; EdgeError if it holds a real journal.

    The simulated devices number their requests from 1 again every run, and the journal
    would take them for duplicates, so a demo always starts with an empty journal.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    marker = workdir / MARKER
    journal = workdir / JOURNAL_FILES[0]
    if journal.exists() and not marker.exists():
        raise EdgeError(
            f"{workdir}: holds a journal (hall.db) the demo did not make; "
            "give --workdir an empty folder"
        )
    for name in JOURNAL_FILES:
        (workdir / name).unlink(missing_ok=True)
    marker.write_text("made by `hall-edge demo`: its journal is reset on every run\n")


def write_demo_config(
    workdir: Path,
    hall_url: str,
    cloud_url: str,
    devices: Sequence[Mapping[str, Any]],
    counters: int,
    hall_id: str = DEMO_HALL_ID,
    http: str = "",
) -> tuple[Path, HubConfig]:
    """Write `workdir/hall.toml` and load it back as the hub will (ConfigError if wrong,
    with the queue's cross-checks against the devices)."""
    path = workdir / "hall.toml"
    path.write_text(
        demo_config_text(hall_url, cloud_url, devices, counters, hall_id, http),
        encoding="utf-8",
    )
    return path, load(path)
