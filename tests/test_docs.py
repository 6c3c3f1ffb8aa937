"""The docs cannot drift from the code: README, docs/contract.md, docs/configuration.md,
docs/operations.md and systemd/ are checked against what the code and profiles really do,
and every reference the repository makes is to a document inside it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import threading
import time
import tomllib
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import paho.mqtt.client as paho
import pytest
import typer
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from edge import envelope
from edge.cli import app
from edge.config import hub as hub_sections
from edge.config import load, parse
from edge.config.http import HttpSection
from edge.drivers import convention
from edge.hub import systemd as hub_systemd
from edge.hub.build import build_hub, check_config
from edge.install.layout import Layout
from edge.kpi import KPI_EVENT_TYPES
from edge.model import ACCEPTED, BAD_ARGS, DEVICE_ERROR, DONE, NOT_FOUND, OFFLINE, TIMEOUT
from edge.queue import HUB_COMMANDS
from edge.queue import catalogue as queue_names
from edge.rules.actions import ALERT_TYPE
from edge.sim.mosquitto import add_user
from tests.support.shipped_broker import shipped_broker

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MY_DOCS = [
    README,
    DOCS / "architecture.md",
    DOCS / "contract.md",
    DOCS / "configuration.md",
    DOCS / "operations.md",
]
# A profile's name as the docs write it: `counter-caller-485`, `guide-robot-mqtt`...
PROFILE_NAME = r"`([a-z0-9]+(?:-[a-z0-9]+)*-(?:485|mqtt|serial|escpos|modbus|snapshot))`"
BASE: dict[str, object] = {
    "hall": {"id": "doc-hall"},
    "hall_broker": {"url": "mqtt://127.0.0.1:1883"},
    "cloud": {"url": "mqtt://127.0.0.1:1884"},
}


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def fenced(doc: str, lang: str) -> list[str]:
    """The bodies of the ```lang code blocks of a markdown text, in order."""
    return re.findall(rf"^```{lang}\n(.*?)^```$", doc, re.M | re.S)


def section(doc: str, heading: str) -> str:
    start = doc.index(heading)
    nxt = doc.find("\n## ", start + len(heading))
    return doc[start : nxt if nxt != -1 else len(doc)]


def hall_folder(tmp_path: Path) -> Path:
    """The files a config's relative paths point at, as an installer would have them."""
    for name in ("cloud-ca.pem", "hub.crt", "hub.key"):
        (tmp_path / "certs").mkdir(exist_ok=True)
        (tmp_path / "certs" / name).write_text("test\n")
    (tmp_path / "certs" / "hub.key").chmod(0o600)  # config check refuses a key others can read
    (tmp_path / "rules.d").mkdir(exist_ok=True)
    return tmp_path


# -- README ---------------------------------------------------------------------------------


def test_readme_begins_with_the_two_commands_and_they_exist() -> None:
    lines = [line.strip() for line in text(README).splitlines() if line.strip()]
    assert lines[:4] == ["```sh", "./hall demo", "./hall test", "```"]
    script = text(ROOT / "hall")
    assert re.search(r"^\s*demo\)", script, re.M) and re.search(r"^\s*test\)", script, re.M)
    assert "./hall test" in text(ROOT / ".ci" / "run"), ".ci/run runs the README's test command"


def test_readme_face_install_is_what_hall_setup_does() -> None:
    block = fenced(section(text(README), "## Face recognition"), "sh")[0]
    script = text(ROOT / "hall")
    for needle in ('-e ".[dev,faces]"', "--no-deps", "face-recognition==1.3.0"):
        assert needle in block and needle in script, needle
    assert "dlib-bin" in text(ROOT / "pyproject.toml")


def test_readme_hall_toml_is_a_valid_complete_config(tmp_path: Path) -> None:
    blocks = fenced(section(text(README), "## Configure a real hall"), "toml")
    assert blocks, "the README's example hall.toml is missing"
    data = tomllib.loads(blocks[0])
    folder = hall_folder(tmp_path)
    cfg = parse(data, str(folder / "hall.toml"), str(folder))
    (folder / "hall.toml").write_text(blocks[0], encoding="utf-8")
    assert load(folder / "hall.toml") == cfg
    notes = check_config(cfg)  # profiles and their settings, the rule files and params
    assert any(n.startswith("devices:") for n in notes) and any("rules" in n for n in notes)
    every_section = {
        "hall",
        "hall_broker",
        "cloud",
        "store",
        "commands",
        "devices",
        "queue",
        "kpi",
        "rules",
        "faces",
    }
    assert every_section <= set(data), every_section - set(data)
    assert cfg.faces.enabled and cfg.queue.services and len(cfg.devices) >= 10
    # /etc/hall-edge is read-only under systemd: the journal and the vault live elsewhere.
    assert Path(cfg.store.path).is_absolute() and Path(cfg.faces.vault_path).is_absolute()


def test_configuration_page_fragments_are_valid(tmp_path: Path) -> None:
    blocks = fenced(text(DOCS / "configuration.md"), "toml")
    assert len(blocks) >= 4
    folder = hall_folder(tmp_path)
    for block in blocks:
        data = {**BASE, **tomllib.loads(block)}
        parse(data, "configuration.md", str(folder))


def test_configuration_page_names_every_core_key() -> None:
    doc = text(DOCS / "configuration.md")
    structs: list[type[msgspec.Struct]] = [
        hub_sections.HallSection,
        hub_sections.HallBrokerSection,
        hub_sections.CloudSection,
        hub_sections.StoreSection,
        hub_sections.CommandsSection,
        hub_sections.DeviceSection,
        HttpSection,
    ]
    keys = {f.name for s in structs for f in msgspec.structs.fields(s)} | {"profiles_dir"}
    assert not [k for k in sorted(keys) if f"`{k}`" not in doc]


# -- the command line -----------------------------------------------------------------------


def commands() -> Iterator[tuple[str, Any]]:
    """Every command of `hall-edge` with its path: the typer tree, walked."""
    stack: list[tuple[str, Any]] = [("hall-edge", typer.main.get_command(app))]
    while stack:
        path, cmd = stack.pop()
        yield path, cmd
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            stack.append((f"{path} {name}", sub))


def test_every_command_and_option_has_help() -> None:
    seen = list(commands())
    assert len(seen) > 20
    for path, cmd in seen:
        assert (cmd.help or "").strip(), f"{path} has no help text"
        for param in cmd.params:
            assert (getattr(param, "help", None) or "").strip(), f"{path} {param.name}: no help"


def test_readme_lists_every_command() -> None:
    doc = section(text(README), "## The `hall-edge` command")
    assert not [p for p, _ in commands() if f"`{p}" not in doc]


def test_systemd_unit_uses_real_options() -> None:
    run = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    unit = text(ROOT / "systemd" / "hall-edge.service")
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M)
    assert exec_start is not None
    argv = exec_start.group(1).split()
    assert argv[1] == "run"
    options = {o for p in run.params for o in p.opts}
    assert {a for a in argv[2:] if a.startswith("-")} <= options


# -- profiles named in the docs -------------------------------------------------------------


def test_every_profile_named_in_the_docs_exists() -> None:
    shipped = {p.stem for p in (ROOT / "firmware-configs").glob("*.yaml")}
    named: set[str] = set()
    for doc in [README, *DOCS.glob("*.md")]:
        body = text(doc)
        named |= set(re.findall(r'^\s*profile\s*=\s*"([^"]+)"', body, re.M))
        named |= set(re.findall(PROFILE_NAME, body))
    assert "counter-caller-485" in named
    assert named <= shipped, named - shipped


# -- the contract ---------------------------------------------------------------------------


def _encoded(doc: dict[str, Any]) -> bytes:
    """The envelope the code makes from an example's own fields."""
    return envelope.encode(
        hall_id=doc["hallid"],
        seq=doc["hallseq"],
        event_id=doc["id"],
        event_type=doc["type"],
        device_id=doc["deviceid"],
        time=datetime.fromisoformat(doc["time"]),
        tz=ZoneInfo("Asia/Shanghai"),
        data=doc["data"],
        journal=doc["halljournal"],
    )


def test_contract_envelope_examples_are_what_the_code_makes() -> None:
    body = section(text(DOCS / "contract.md"), "## 3. The envelope")
    example, resent = fenced(body, "json")[:2]
    doc = msgspec.json.decode(example)
    assert msgspec.json.decode(_encoded(doc)) == doc
    again = msgspec.json.decode(resent)
    del again["resent"]
    rebuilt = _encoded(again)
    assert envelope.mark_resent(rebuilt) == resent.strip().encode()


def _names_in_code() -> set[str]:
    """Event and command names the code and the shipped profiles spell."""
    names = {*queue_names.INPUT_TYPES, *queue_names.RESULT_TYPES, *KPI_EVENT_TYPES}
    names |= {ALERT_TYPE, "kpi.daily", "kpi.model_window", *HUB_COMMANDS}
    for source in (ROOT / "edge").rglob("*.py"):
        body = text(source)
        names |= set(re.findall(r'Event\(\s*"([a-z_]+(?:\.[a-z_]+)+)"', body))
        names |= set(re.findall(r'\btype="([a-z_]+(?:\.[a-z_]+)+)"', body))
        names |= set(re.findall(r'register\(\s*"([a-z_]+(?:\.[a-z_]+)+)"', body))
    for profile in (ROOT / "firmware-configs").glob("*.yaml"):
        spec = yaml.safe_load(text(profile))
        names |= set(spec.get("commands") or {})
        names |= {m["event"] for m in spec.get("messages") or []}
        names |= {
            str(e) for f in spec.get("frames") or [] if (e := (f.get("params") or {}).get("event"))
        }
    return names


def test_contract_names_every_event_command_code_and_reason() -> None:
    doc = text(DOCS / "contract.md")
    names = _names_in_code()
    assert {"queue.ticket.issued", "config.get", "printer.print_invoice", "face.erase"} <= names
    assert not sorted(n for n in names if f"`{n}`" not in doc)
    codes = section(doc, "## 6. Replies and reply codes")
    for code in (DONE, ACCEPTED, BAD_ARGS, NOT_FOUND, TIMEOUT, DEVICE_ERROR, OFFLINE):
        assert f"\n| {code} |" in codes
    reasons = [
        convention.INVALID_JSON,
        convention.NOT_AN_OBJECT,
        convention.UNKNOWN_DEVICE,
        convention.TOO_LARGE,
        convention.BAD_TOPIC,
        convention.BAD_FIELD,
    ]
    assert not [r for r in reasons if f"`{r}`" not in doc]


def test_operations_page_explains_every_metric(tmp_path: Path) -> None:
    cfg = parse(BASE, "hall.toml", str(tmp_path))
    hub = asyncio.run(build_hub(cfg))
    try:
        metrics = hub.metrics()
    finally:
        hub.close()
    nested = ("cloud", "hall")  # the two links: their fields are documented one by one
    keys = [k for k in metrics if k not in nested]
    keys += [f"{k}.{sub}" for k in nested for sub in metrics[k]]
    table = section(text(DOCS / "operations.md"), "## Health and metrics")
    assert len(keys) > 20
    assert not [k for k in keys if f"`{k}`" not in table]
    example = msgspec.json.decode(fenced(table, "json")[0])
    assert set(example) == set(metrics)
    assert all(set(example[k]) == set(metrics[k]) for k in nested)


# -- links ----------------------------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_docs_resolve() -> None:
    for doc in MY_DOCS:
        body = text(doc)
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)", body):
            if target.startswith("http"):
                continue
            path = (doc.parent / target).resolve() if target else doc
            assert path.exists(), f"{doc.name}: {target}"
            if anchor:
                anchors = {slug(h) for h in re.findall(r"^#+ (.*)$", text(path), re.M)}
                assert anchor in anchors, f"{doc.name}: {target}#{anchor}"


# The client's design reference, which is not in the repository: its content that the
# project relies on is in docs/architecture.md and docs/contract.md, and nothing cites it.
OUTSIDE_REFERENCE = "DESIGN" + ".md"
# What a checkout holds besides the repository's own files (when git cannot list them).
NOT_OURS = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def repository_files() -> list[Path]:
    """The repository's files: tracked and new ones git does not ignore (else a walk)."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z", "-co", "--exclude-standard"],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        found: list[Path] = []
        for folder, dirs, names in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in NOT_OURS and not d.endswith(".egg-info")]
            found += [Path(folder, name) for name in names]
        return found
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_file_cites_the_design_reference_outside_the_repository() -> None:
    files = [p for p in repository_files() if p.is_file()]  # a deleted tracked file is gone
    assert DOCS / "architecture.md" in files and Path(__file__).resolve() in files
    citing = [
        str(p.relative_to(ROOT)) for p in files if OUTSIDE_REFERENCE.encode() in p.read_bytes()
    ]
    assert not citing, f"cite docs/architecture.md or docs/contract.md instead: {citing}"


# -- systemd and the hall broker ------------------------------------------------------------


def test_hub_unit_matches_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    unit = text(ROOT / "systemd" / "hall-edge.service")
    settings = [line for line in unit.splitlines() if line and not line.startswith(("#", "["))]
    for line in (
        "Type=notify",
        "NotifyAccess=main",
        "WatchdogSec=30",
        "Restart=always",
        "SupplementaryGroups=dialout",
        "StateDirectory=hall-edge",
        "ProtectSystem=strict",
        "DevicePolicy=closed",
        "DeviceAllow=char-ttyUSB rw",
    ):
        assert line in settings, line
    hidden = [s for s in settings if s.startswith("PrivateDevices=")]
    assert not hidden, "serial ports must stay visible"
    # The hub pets the watchdog at half of WatchdogSec (and at least every 5 s).
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert hub_systemd.watchdog_interval_s() == 15.0


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("unit", ["hall-edge.service", "mosquitto-hall.service"])
def test_units_pass_systemd_analyze_verify(tmp_path: Path, unit: str) -> None:
    body = text(ROOT / "systemd" / unit)
    (tmp_path / unit).write_text(re.sub(r"^ExecStart=\S+", "ExecStart=/bin/true", body, flags=re.M))
    out = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / unit)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and not out.stderr.strip() and not out.stdout.strip(), out.stderr


class _Client:
    def __init__(
        self, port: int, client_id: str, user: str | None, password: str | None, clean: bool = True
    ) -> None:
        self.got: list[str] = []
        self.refused: int | None = None
        self.up = threading.Event()
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        if user:
            self.c.username_pw_set(user, password)
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda _c, _u, m: self.got.append(m.topic)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.refused = None if not rc.is_failure else int(rc.value)
        self.up.set()

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def test_hall_broker_config_keeps_the_hub_queue_and_checks_users(tmp_path: Path) -> None:
    """Mosquitto runs with the shipped config: the hub's persistent session keeps more than
    Mosquitto's default 1000 queued messages across a broker restart, and the ACL lets a
    device write its own topics only."""
    layout = Layout(tmp_path / "root")
    layout.etc.mkdir(parents=True)
    broker = shipped_broker(layout)
    for user, secret in [("hall-edge", "hub-pw"), ("pad-1", "pad-pw")]:
        add_user(layout.broker_passwd, user, secret)
    shutil.copy(ROOT / "systemd" / "mosquitto-hall.acl", layout.broker_acl)
    port = broker.port
    broker.start()
    clients: list[_Client] = []
    try:
        hub = _Client(port, "hall-edge-doc", "hall-edge", "hub-pw", clean=False)
        clients.append(hub)
        assert hub.up.wait(5) and hub.refused is None
        hub.c.subscribe("hall/devices/+/events/#", 1)
        time.sleep(0.3)
        hub.close()  # the hub is away: the broker queues for its session
        anonymous = _Client(port, "anon", None, None)
        clients.append(anonymous)
        assert anonymous.up.wait(5) and anonymous.refused is not None, "anonymous login refused"
        pad = _Client(port, "pad-1", "pad-1", "pad-pw")
        clients.append(pad)
        assert pad.up.wait(5) and pad.refused is None
        n = 1500  # more than Mosquitto's default max_queued_messages of 1000
        own, other = "hall/devices/pad-1/events/rating/submitted", "hall/devices/pad-2/events/x"
        infos = [pad.c.publish(own, b"{}", 1) for _ in range(n)]
        infos.append(pad.c.publish(other, b"{}", 1))
        for info in infos:
            info.wait_for_publish(10)
        broker.restart()  # a clean stop writes the persistence file
        hub = _Client(port, "hall-edge-doc", "hall-edge", "hub-pw", clean=False)
        clients.append(hub)
        deadline = time.monotonic() + 20
        while len(hub.got) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert hub.got.count(own) >= n
        assert other not in hub.got, "ACL: a device writes its own topics only"
    finally:
        for client in clients:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                client.close()
        broker.stop()
