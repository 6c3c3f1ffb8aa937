"""`broker sync` against a real Mosquitto run from the shipped conf: who logs in, writes, reads."""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from edge.config import load
from edge.errors import ConfigError
from edge.install.accounts import password_matches, read_passwd, read_secrets, reload_broker, sync
from edge.install.layout import Layout
from edge.sim.mosquitto import Mosquitto
from edge.sim.waits import settles
from tests.install.conftest import HUB_PW, Client, staged_config

DEVICES: list[dict[str, Any]] = [
    {"id": "pad-1", "profile": "generic-mqtt"},
    {"id": "pad-2", "profile": "generic-mqtt"},
    {"id": "robot-1", "profile": "guide-robot-mqtt", "settings": {"serial": "GB2-0001"}},
    {"id": "caller-1", "profile": "counter-caller-485", "settings": {"address": 1}},
]


def login_settles(port: int, user: str, password: str, *, accepted: bool) -> bool:
    """Logins until one gets the wanted answer: the broker applies a reload on its next turn."""
    for _ in range(50):
        c = Client(port, user, password)
        ok = c.connected()
        c.close()
        if ok == accepted:
            return True
        time.sleep(0.1)
    return False


def synced(layout: Layout, devices: list[dict[str, Any]], url: str) -> dict[str, str]:
    cfg_path = staged_config(layout.root / "hall.toml", url, "mqtt://127.0.0.1:1", devices)
    sync(load(cfg_path), layout)
    return read_secrets(layout.broker_secrets)


def test_sync_makes_accounts_and_keeps_them(layout: Layout) -> None:
    layout.root.mkdir(parents=True)
    secret = synced(layout, DEVICES, "mqtt://127.0.0.1:1883")
    users = read_passwd(layout.broker_passwd)
    # The serial caller never logs in to the broker: no account.
    assert list(users) == ["hall-edge", "screen-1", "screen-2", "pad-1", "pad-2", "robot-1"]
    assert password_matches(users["hall-edge"], HUB_PW)
    assert not password_matches(users["hall-edge"], "wrong")
    assert set(secret) == {"screen-1", "screen-2", "pad-1", "pad-2", "robot-1"}
    assert len(set(secret.values())) == 5 and all(len(p) >= 20 for p in secret.values())
    assert all(password_matches(users[u], p) for u, p in secret.items())
    assert stat.S_IMODE(layout.broker_secrets.stat().st_mode) == 0o600
    assert stat.S_IMODE(layout.broker_passwd.stat().st_mode) == 0o640
    acl = layout.broker_acl.read_text()
    assert "user robot-1\ntopic write guidebot/GB2-0001/report/status\n" in acl
    assert "topic read guidebot/GB2-0001/cmd\n" in acl
    assert "pattern" not in acl  # every right is given to one named account
    before = {p: p.read_bytes() for p in (layout.broker_passwd, layout.broker_acl)}
    # Second run: same config, nothing changes, every account keeps its password.
    cfg = load(layout.root / "hall.toml")
    again = sync(cfg, layout)
    assert not again.changed and not again.created and not again.removed
    assert {p: p.read_bytes() for p in before} == before
    assert read_secrets(layout.broker_secrets) == secret


def test_sync_refuses_a_device_named_like_the_hub(layout: Layout) -> None:
    layout.root.mkdir(parents=True)
    bad = [{"id": "hall-edge", "profile": "generic-mqtt"}]
    path = staged_config(layout.root / "hall.toml", "mqtt://127.0.0.1:1", "mqtt://127.0.0.1:2", bad)
    with pytest.raises(ConfigError, match=r"hall.toml: devices\[0\].id: .*hall_broker.username"):
        sync(load(path), layout)


def test_broker_enforces_the_accounts(
    layout: Layout, staged_broker: Mosquitto, clients: list[Client]
) -> None:
    secret = synced(layout, DEVICES, staged_broker.url)
    staged_broker.start()
    port = staged_broker.port

    def login(user: str | None, password: str | None, client_id: str = "") -> Client:
        c = Client(port, user, password, client_id)
        clients.append(c)
        return c

    assert not login(None, None).connected(), "anonymous refused"
    assert not login("pad-1", "not-its-password").connected()
    hub = login("hall-edge", HUB_PW)
    assert hub.connected()
    hub.subscribe("#")
    a = login("pad-1", secret["pad-1"])
    b = login("pad-2", secret["pad-2"])
    screen = login("screen-1", secret["screen-1"])
    assert a.connected() and b.connected() and screen.connected()
    b.subscribe("hall/devices/pad-2/commands/#")
    a.subscribe("hall/devices/pad-2/commands/#")  # refused silently by the ACL
    screen.subscribe("hall/#")
    a.c.publish("hall/devices/pad-2/events/rating/submitted", b"as B", 1).wait_for_publish(5)
    a.c.publish("hall/devices/pad-1/events/rating/submitted", b"own", 1).wait_for_publish(5)
    screen.c.publish("hall/devices/pad-1/events/x", b"screen", 1).wait_for_publish(5)
    screen.c.publish("hall/events/x", b"screen", 1).wait_for_publish(5)
    hub.c.publish("hall/devices/pad-2/commands/display", b"cmd", 1).wait_for_publish(5)
    hub.c.publish("hall/events/queue/called", b"copy", 1).wait_for_publish(5)
    assert settles(lambda: ("hall/devices/pad-2/commands/display", b"cmd") in b.got, 5)
    assert settles(lambda: ("hall/events/queue/called", b"copy") in screen.got, 5)
    assert settles(lambda: ("hall/devices/pad-1/events/rating/submitted", b"own") in hub.got, 5)
    time.sleep(0.3)
    # The hub (allowed to read everything) never got what A wrote as B or what a screen wrote.
    assert ("hall/devices/pad-2/events/rating/submitted", b"as B") not in hub.got
    assert not [m for m in hub.got if m[1] == b"screen"]
    assert not a.got, "A cannot read B's commands"
    # A vendor device: its own vendor topics (by its serial), not another robot's.
    robot = login("robot-1", secret["robot-1"])
    assert robot.connected()
    robot.subscribe("guidebot/GB2-0001/cmd")
    robot.c.publish("guidebot/GB2-0002/report/status", b"other", 1).wait_for_publish(5)
    robot.c.publish("guidebot/GB2-0001/report/status", b"mine", 1).wait_for_publish(5)
    robot.c.publish("hall/devices/pad-1/events/x", b"other", 1).wait_for_publish(5)
    hub.c.publish("guidebot/GB2-0001/cmd", b"go", 1).wait_for_publish(5)
    assert settles(lambda: ("guidebot/GB2-0001/report/status", b"mine") in hub.got, 5)
    assert settles(lambda: ("guidebot/GB2-0001/cmd", b"go") in robot.got, 5)
    time.sleep(0.3)
    assert not [m for m in hub.got if m[1] == b"other"]


def test_removed_device_cannot_log_in_after_sync(
    layout: Layout, staged_broker: Mosquitto, clients: list[Client]
) -> None:
    secret = synced(layout, DEVICES, staged_broker.url)
    staged_broker.start()
    hub = Client(staged_broker.port, "hall-edge", HUB_PW)
    still = Client(staged_broker.port, "pad-2", secret["pad-2"])  # stays connected
    clients += [hub, still]
    assert hub.connected() and still.connected()
    hub.subscribe("hall/devices/#")
    still.c.publish("hall/devices/pad-2/events/x", b"before", 1)
    assert settles(lambda: ("hall/devices/pad-2/events/x", b"before") in hub.got, 5)
    result = sync(load(layout.root / "hall.toml"), layout)  # nothing to do yet
    assert not result.changed
    staged_config(layout.root / "hall.toml", staged_broker.url, "mqtt://127.0.0.1:1", DEVICES[:1])
    result = sync(load(layout.root / "hall.toml"), layout)
    assert result.removed == ["pad-2", "robot-1"]
    assert "SIGHUP" in reload_broker(layout)
    assert login_settles(staged_broker.port, "pad-2", secret["pad-2"], accepted=False)
    # A connection made before the removal loses its rights with the reloaded ACL.
    still.c.publish("hall/devices/pad-2/events/x", b"after removal", 1)
    time.sleep(0.5)
    assert ("hall/devices/pad-2/events/x", b"after removal") not in hub.got
    kept = Client(staged_broker.port, "pad-1", secret["pad-1"])
    clients.append(kept)
    assert kept.connected()
    assert read_secrets(layout.broker_secrets).keys() == {"screen-1", "screen-2", "pad-1"}


def test_no_secrets_outside_root_only_files(layout: Layout) -> None:
    layout.root.mkdir(parents=True)
    secret = synced(layout, DEVICES[:1], "mqtt://127.0.0.1:1883")
    for path in Path(layout.root).rglob("*"):
        if path.is_file() and path != layout.broker_secrets and path.name != "hall.toml":
            assert secret["pad-1"] not in path.read_text(errors="replace"), path


def test_broker_sync_command_shows_passwords_and_reloads(
    layout: Layout, staged_broker: Mosquitto
) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from edge.cli import app  # noqa: PLC0415

    cfg = staged_config(
        layout.root / "hall.toml", staged_broker.url, "mqtt://127.0.0.1:1", DEVICES[:1]
    )
    args = ["broker", "sync", "--root", str(layout.root), "--config", str(cfg)]
    first = CliRunner().invoke(app, [*args, "--show"])
    assert first.exit_code == 0, first.output
    secret = read_secrets(layout.broker_secrets)
    assert f"pad-1 {secret['pad-1']}" in first.output
    assert "created: hall-edge, screen-1, screen-2, pad-1" in first.output
    assert "would run: systemctl reload mosquitto-hall" in first.output  # no broker yet
    staged_broker.start()
    staged_config(cfg, staged_broker.url, "mqtt://127.0.0.1:1", DEVICES[:2])
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "created: pad-2" in second.output and "broker reloaded (SIGHUP to pid" in second.output
    assert secret["pad-1"] not in second.output  # shown only with --show
    again = CliRunner().invoke(app, args)
    assert "unchanged: hall-edge, screen-1, screen-2, pad-1, pad-2" in again.output
    assert "nothing to reload" in again.output
    password = read_secrets(layout.broker_secrets)["pad-2"]
    assert login_settles(staged_broker.port, "pad-2", password, accepted=True)


def test_sync_needs_the_hub_login_in_the_config(layout: Layout) -> None:
    layout.root.mkdir(parents=True)
    path = staged_config(layout.root / "hall.toml", "mqtt://127.0.0.1:1", "mqtt://127.0.0.1:2", [])
    path.write_text(path.read_text().replace('username = "hall-edge"\n', ""))
    with pytest.raises(ConfigError, match=r"hall.toml: hall_broker.username: expected the hub's"):
        sync(load(path), layout)
    assert not layout.broker_passwd.exists()


def test_install_after_a_config_edit_reloads_the_running_broker(
    layout: Layout, staged_broker: Mosquitto
) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from edge.cli import app  # noqa: PLC0415

    first = CliRunner().invoke(app, ["install", "--root", str(layout.root)])
    assert first.exit_code == 0, first.output
    staged_broker.start()
    with layout.config.open("a") as f:
        f.write('\n[[devices]]\nid = "pad-9"\nprofile = "generic-mqtt"\n')
    second = CliRunner().invoke(app, ["install", "--root", str(layout.root)])
    assert second.exit_code == 0, second.output
    assert re.search(r"^run +reload the hall broker +\(send SIGHUP", second.output, re.M)
    assert re.search(r"^update +broker accounts .*\(1 new, 0 removed\)", second.output, re.M)
    password = read_secrets(layout.broker_secrets)["pad-9"]
    assert login_settles(staged_broker.port, "pad-9", password, accepted=True)
