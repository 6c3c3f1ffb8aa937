"""`hall-edge install` / `uninstall` into a staged root: every action, idempotence, modes."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge.cli import app
from edge.install.accounts import read_passwd, read_secrets
from edge.install.layout import Layout
from tests.install.conftest import staged_config

Tree = dict[str, tuple[bytes, int, int]]


def tree(root: Path) -> Tree:
    """Every file and folder under root: content, mode, mtime (what a change would touch)."""
    out: Tree = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        body = p.read_bytes() if p.is_file() else b""
        out[str(p.relative_to(root))] = (body, st.st_mode, st.st_mtime_ns)
    return out


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def statuses(output: str) -> list[tuple[str, str]]:
    words = "create|update|unchanged|skipped|run|remove|kept"
    return re.findall(rf"^({words}) +(.+?)(?:  \(.*\))?$", output, re.M)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_install_example_then_again_changes_nothing(layout: Layout) -> None:
    code, out = cli("install", "--root", str(layout.root))
    assert code == 0, out
    seen = dict((what, st) for st, what in statuses(out))
    assert seen[f"file {layout.config}"] == "create"
    assert seen[f"file {layout.udev_rules}"] == "create"
    assert seen[f"file {layout.hub_unit}"] == "create"
    assert seen["systemctl daemon-reload"] == "skipped"  # staged: printed, not run
    assert "staged: would run useradd --system" in out
    assert "note:" not in out  # the example's paths are where the hub may write
    assert mode(layout.etc) == 0o751 and mode(layout.state) == 0o750
    assert mode(layout.config) == 0o640 and mode(layout.broker_secrets) == 0o600
    assert mode(layout.bin) == 0o755
    # The example passes `config check` as written, and its hub account exists.
    code, check = cli("config", "check", str(layout.config))
    assert code == 0 and check.startswith("ok "), check
    assert list(read_passwd(layout.broker_passwd)) == ["hall-edge", "hall-screen"]
    assert "hall-edge run --config /etc/hall-edge/hall.toml" in layout.hub_unit.read_text()
    before = tree(layout.root)
    code, again = cli("install", "--root", str(layout.root))
    assert code == 0, again
    assert {st for st, _ in statuses(again)} <= {"unchanged", "skipped"}, again
    assert "0 to change" in again
    assert tree(layout.root) == before, "a second install changes nothing"


def test_dry_run_prints_every_action_and_changes_nothing(layout: Layout) -> None:
    layout.root.mkdir(parents=True)
    code, out = cli("install", "--root", str(layout.root), "--dry-run")
    assert code == 0, out
    assert list(layout.root.iterdir()) == []
    listed = statuses(out)
    assert len(listed) >= 15 and "dry run: nothing was changed" in out
    assert ("create", f"file {layout.broker_conf}") in listed


def test_install_from_a_config_then_a_changed_config(layout: Layout, tmp_path: Path) -> None:
    devices: list[dict[str, Any]] = [
        {"id": "pad-1", "profile": "generic-mqtt"},
        {
            "id": "caller-1",
            "profile": "counter-caller-485",
            "settings": {"port": "/dev/hall/caller-1", "address": 1, "serial_number": "5A7B0012"},
        },
    ]
    src = staged_config(
        tmp_path / "my-hall.toml",
        "mqtt://127.0.0.1:1883",
        "mqtt://127.0.0.1:8883",
        devices,
        extra='[store]\npath = "/tmp/x.db"',
    )
    src.write_text(
        src.read_text().replace('[store]\npath = "hall.db"\nsynchronous = "normal"\n', "")
    )
    code, out = cli("install", "--root", str(layout.root), "--config", str(src))
    assert code == 0, out
    assert layout.config.read_text() == src.read_text()
    # rich wraps the note at 80 columns where the temp path's length puts it (an xdist
    # worker's paths are longer); a wrap keeps its space, so joining the lines undoes it.
    assert "store.path: /tmp/x.db is read-only for the hub under systemd" in out.replace("\n", "")
    assert 'ATTRS{serial}=="5A7B0012", SYMLINK+="hall/caller-1"' in layout.udev_rules.read_text()
    assert set(read_secrets(layout.broker_secrets)) == {"screen-1", "screen-2", "pad-1"}
    pad_hash = read_passwd(layout.broker_passwd)["pad-1"]
    # The hall drops the caller and adds a pad: config, accounts and rules change.
    more = [devices[0], {"id": "pad-2", "profile": "generic-mqtt"}]
    src.write_text(
        src.read_text().split("\n[[devices]]")[0]
        + "".join(f'\n[[devices]]\nid = "{d["id"]}"\nprofile = "{d["profile"]}"\n' for d in more)
    )
    code, out = cli("install", "--root", str(layout.root), "--config", str(src))
    assert code == 0, out
    seen = dict((what, st) for st, what in statuses(out))
    assert seen[f"file {layout.config}"] == "update"
    assert seen[f"file {layout.udev_rules}"] == "update"
    assert seen[f"file {layout.hub_unit}"] == "unchanged"
    assert "caller-1" not in layout.udev_rules.read_text()
    users = read_passwd(layout.broker_passwd)
    assert users["pad-1"] == pad_hash, "an existing account keeps its password"
    assert "pad-2" in users


def test_bad_config_is_one_line_naming_file_and_key(layout: Layout, tmp_path: Path) -> None:
    bad = staged_config(
        tmp_path / "bad.toml",
        "mqtt://127.0.0.1:1883",
        "mqtt://127.0.0.1:2",
        [{"id": "t-1", "profile": "ticket-machine-serial", "settings": {"usb_vendor": "zz"}}],
    )
    code, out = cli("install", "--root", str(layout.root), "--config", str(bad))
    assert code == 2
    assert "bad.toml: devices[0] (t-1).settings.usb_vendor: expected 4 hex digits" in out
    assert "Traceback" not in out and not layout.root.exists()


def test_uninstall_keeps_journal_and_vault_unless_purge(layout: Layout) -> None:
    assert cli("install", "--root", str(layout.root))[0] == 0
    journal, vault = layout.state / "hall.db", layout.state / "faces.db"
    journal.write_bytes(b"journal")
    vault.write_bytes(b"vault")
    code, out = cli("uninstall", "--root", str(layout.root))
    assert code == 0, out
    for gone in (
        layout.hub_unit,
        layout.broker_unit,
        layout.udev_rules,
        layout.bin,
        layout.broker_conf,
        layout.broker_acl,
        layout.broker_passwd,
        layout.broker_secrets,
    ):
        assert not gone.exists(), gone
    assert journal.read_bytes() == b"journal" and vault.read_bytes() == b"vault"
    assert layout.config.exists()
    assert f"kept       file {journal}" in out
    before = tree(layout.root)
    code, again = cli("uninstall", "--root", str(layout.root))
    assert {st for st, _ in statuses(again)} <= {"unchanged", "kept", "skipped"}, again
    assert tree(layout.root) == before
    code, out = cli("uninstall", "--root", str(layout.root), "--purge")
    assert code == 0, out
    assert not layout.state.exists() and not layout.etc.exists()


def test_wrapper_on_path_runs_the_venv_command(layout: Layout) -> None:
    assert cli("install", "--root", str(layout.root))[0] == 0
    done = subprocess.run(
        [str(layout.bin), "config", "check", str(layout.config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("ok "), done.stderr


@pytest.mark.parametrize("unit", ["hall-edge.service", "mosquitto-hall.service"])
def test_installed_units_pass_systemd_analyze_verify(layout: Layout, unit: str) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    assert cli("install", "--root", str(layout.root))[0] == 0
    path = layout.units / unit
    done = subprocess.run(
        [tool, "verify", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    if "Failed to" in done.stderr and "bus" in done.stderr.lower():
        pytest.skip(f"systemd-analyze cannot run here: {done.stderr.strip()[:200]}")
    # The broker's ExecStart is /usr/sbin/mosquitto: present when ./hall setup has run.
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_real_root_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    for command in (["install"], ["uninstall"], ["broker", "sync"]):
        code, out = cli(*command)
        assert code == 2 and "run as root" in out and "Traceback" not in out
