"""Every ```sh and ```console block of README.md and docs/*.md runs as written.

Each block runs in a temp hall: a folder holding examples/hall.toml (with its rules.d/),
two private Mosquitto brokers standing for the hall broker and the cloud, a journal the
hub made by running there a few seconds, and the files the docs say the reader has (a
photo, a profile of their own, an export of envelopes). `hall-edge` is this checkout's
(`./hall setup` links it on PATH; here its .venv/bin comes first on PATH).

A command runs verbatim but for the places in PLACES, each with its reason. A command that
runs until stopped (`hall-edge run`, `simulate ...`) must still be running, without an
error, a few seconds after it started; it is then stopped with Ctrl-C (SIGINT). Such
commands one after the other in a block run side by side, as a reader starts them in
several terminals (each one's seconds counted from the line it prints once it is up).
Any other command must exit 0. No command may print a traceback or an `error:` line.
"""

from __future__ import annotations

import io
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import pytest
from PIL import Image

from edge.sim.mosquitto import Mosquitto
from edge.sim.waits import settles

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Blocks that cannot run in a test, by their page and first line, and why.
CANNOT_RUN = {
    ("README.md", "./hall demo"): "the simulated day takes minutes (tests/demo runs `demo "
    "--duration`), and `./hall test` is this very suite",
    ("README.md", 'pip install -e ".[dev,faces]"'): "what ./hall setup does "
    "(test_readme_face_install_is_what_hall_setup_does); it would reinstall the running .venv",
    (
        "operations.md",
        "git clone <hall-edge repository> /opt/hall-edge && cd /opt/hall-edge && ./hall setup",
    ): "an install as root: a system user, /etc/hall-edge, systemd units enabled and started "
    "(tests/install runs `hall-edge install` into a staged tree)",
    ("operations.md", "hall-edge broker sync"): "writes an installed box's broker accounts and "
    "reloads its broker (tests/install runs it on a staged one)",
    ("operations.md", "sudo hall-edge doctor"): "checks an installed box: units, udev rules, its "
    "brokers (tests/doctor runs it on a staged one)",
    ("operations.md", "install -m 0644 cloud-ca.pem hub.crt /etc/hall-edge/certs/"): "the "
    "utility's own certificate files (tests/tls makes such files and uses them)",
    ("operations.md", "journalctl -u hall-edge -f"): "reads systemd's journal of an "
    "installed hub; `-f` never ends",
    ("performance.md", ".venv/bin/python bench/pipeline.py"): "benchmarks of minutes "
    "each, run by hand (docs/performance.md)",
}
# Commands that run until stopped: started, checked alive, then stopped with SIGINT.
LONG = re.compile(r"^(?:he|hall-edge) (?:run|simulate)\b")
# `simulate hall` plays every device of a hall, those of `simulate robot`, `kiosk`... among
# them, with the same MQTT client ids: beside them one would take the other's connection.
WHOLE_HALL = re.compile(r"^(?:he|hall-edge) simulate hall\b")
ALIVE_S = 2.0  # how long a command that runs until stopped must keep running


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    commands: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def blocks() -> Iterator[Block]:
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in re.finditer(r"^```(?:sh|console)\n(.*?)^```$", text, re.M | re.S):
            body = m.group(1).replace("\\\n", " ")
            # A comment after a command starts at whitespace then `#` (none sits in quotes).
            lines = [re.sub(r"\s+#.*$", "", ln).strip() for ln in body.splitlines()]
            commands = tuple(ln.removeprefix("$ ") for ln in lines if ln and ln[0] != "#")
            yield Block(doc.name, text[: m.start()].count("\n") + 2, commands)


ALL = list(blocks())
RUN = [b for b in ALL if (b.page, b.commands[0]) not in CANNOT_RUN]


def places(hall: Path, hall_url: str, cloud_url: str) -> list[tuple[str, str, str]]:
    """(written, run as, why): the only changes made to the docs' commands."""
    return [
        ("/etc/hall-edge/", f"{hall}/", "the temp hall stands for the installed config folder"),
        ("/tmp/", f"{hall}/tmp/", "the simulators' pty links stay in the test's folder"),
        ("mqtt://127.0.0.1:1883", hall_url, "the hall broker is the test's own"),
        ("mqtt://127.0.0.1:1884", cloud_url, "so is the cloud's"),
        (
            "alias he='sudo -u hall-edge hall-edge'",
            'he() { hall-edge "$@"; }',
            "no hall-edge user here: the same command as root (a function, as an alias is "
            "not expanded in a non-interactive shell)",
        ),
    ]


@dataclass
class Hall:
    path: Path
    env: dict[str, str]
    places: list[tuple[str, str, str]]

    def command(self, text: str) -> str:
        # One pass: a place already replaced is not replaced again (/etc/... holds /tmp/).
        table = {written: run_as for written, run_as, _ in self.places}
        pattern = "|".join(re.escape(w) for w in sorted(table, key=len, reverse=True))
        return re.sub(pattern, lambda m: table[m.group(0)], text)


def astronaut_face(target: Path) -> None:
    """The face of skimage's astronaut.png as a desk photo (the crop leaves out her badge,
    which the detector takes for a second face when upsampling)."""
    spec = find_spec("skimage")
    assert spec is not None and spec.origin is not None, "scikit-image (dev extra) is missing"
    png = Path(spec.origin).parent / "data" / "astronaut.png"
    with Image.open(png) as img:
        img.convert("RGB").crop((0, 0, 512, 300)).save(target, "JPEG", quality=92)


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    folder = tmp_path_factory.mktemp("hall")
    brokers = [Mosquitto(folder / "hall-broker"), Mosquitto(folder / "cloud-broker")]
    for b in brokers:
        b.start()
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
    env |= {"COLUMNS": "100", "NO_COLOR": "1"}
    env.pop("HALL_EDGE_DEBUG", None)
    h = Hall(folder, env, places(folder, brokers[0].url, brokers[1].url))
    try:
        (folder / "tmp").mkdir()
        config = (ROOT / "examples" / "hall.toml").read_text(encoding="utf-8")
        (folder / "hall.toml").write_text(h.command(config), encoding="utf-8")
        shutil.copytree(ROOT / "examples" / "rules.d", folder / "rules.d")
        # What the docs say the reader has: a photo, a profile of their own, an export.
        astronaut_face(folder / "customer.jpg")
        profile = (ROOT / "firmware-configs" / "generic-mqtt.yaml").read_text(encoding="utf-8")
        (folder / "my-model.yaml").write_text(profile, encoding="utf-8")
        (folder / "export.jsonl").write_text("", encoding="utf-8")
        # The journal of a hub that has run in this hall.
        # The journal of a hub that has run in this hall a few seconds (counted from the
        # journal's making: on a busy machine the hub's start alone can take 3 s).
        hub = start(h, "hall-edge run --config hall.toml")
        made = settles((folder / "hall.db").exists, 60)
        time.sleep(3)
        stop(hub, "the hub that makes the journal")
        assert made and (folder / "hall.db").exists()
        yield h
    finally:
        for b in brokers:
            b.stop()


def start(hall: Hall, command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["bash", "-c", command],
        cwd=hall.path,
        env=hall.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: Ctrl-C reaches the command, not pytest
    )


def stop(proc: subprocess.Popen[str], what: str) -> str:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{what}: still running 20 s after Ctrl-C")
    assert proc.returncode in (0, 130, -signal.SIGINT), f"{what}: exit {proc.returncode}\n{err}"
    return out + err


def clean(what: str, output: str) -> None:
    assert "Traceback" not in output, f"{what}:\n{output}"
    errors = [ln for ln in output.splitlines() if ln.startswith("error:")]
    assert not errors, f"{what}: {errors}"


def test_the_list_of_blocks_that_cannot_run_is_current() -> None:
    firsts = {(b.page, b.commands[0]) for b in ALL}
    assert set(CANNOT_RUN) <= firsts, set(CANNOT_RUN) - firsts
    assert len(RUN) >= 7, [b.name for b in RUN]


def batches(commands: Sequence[str]) -> list[list[str]]:
    """The commands in order; consecutive ones that run until stopped in one batch (a
    `simulate hall` in a batch of its own)."""
    out: list[list[str]] = []

    def side_by_side(c: str) -> bool:
        return bool(LONG.match(c)) and not WHOLE_HALL.match(c)

    for c in commands:
        if out and side_by_side(c) and side_by_side(out[-1][-1]):
            out[-1].append(c)
        else:
            out.append([c])
    return out


def first_line(proc: subprocess.Popen[str], what: str, timeout: float = 60.0) -> str:
    """The first line the command prints once it is up (every simulator says where it
    listens or that it is connected); a Ctrl-C before that would land in its imports.
    Read from the pipe byte by byte: `communicate` later reads the rest from the pipe
    itself, past whatever a buffered reader would have kept."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    line = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            assert sel.select(deadline - time.monotonic()), f"{what}: no line in {timeout:.0f} s"
            byte = os.read(fd, 1)
            assert byte, f"{what}: ended before it printed a line"
            line += byte
    return line.decode(errors="replace")


def run_until_stopped(hall: Hall, batch: list[tuple[str, str]], block: Block) -> list[str]:
    """Start the batch's (written, command) together; each must be running ALIVE_S after
    it started (after its first line, if side by side); then Ctrl-C each. Their output."""
    procs = [(written, start(hall, command)) for written, command in batch]
    heads: list[str] = []
    try:
        for written, proc in procs:
            heads.append(first_line(proc, f"{block.name}: `{written}`") if len(procs) > 1 else "")
        time.sleep(ALIVE_S)
        for written, proc in procs:
            code = proc.poll()
            assert code in (None, 0), (
                f"{block.name}: `{written}` ended with exit {code}:\n"
                f"{proc.stderr.read() if proc.stderr else ''}"
            )
    finally:
        outputs = [
            stop(proc, f"{block.name}: `{written}`")
            if proc.poll() is None
            else "".join(proc.communicate())
            for written, proc in procs
        ]
    return [head + output for head, output in zip(heads, outputs, strict=True)]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("block", RUN, ids=[b.name for b in RUN])
def test_the_block_runs_as_written(hall: Hall, block: Block) -> None:
    prelude = [hall.command(c) for c in block.commands if c.startswith("alias ")]
    outputs: list[tuple[str, str]] = []
    for batch in batches([c for c in block.commands if not c.startswith("alias ")]):
        commands = [(w, "; ".join([*prelude, hall.command(w)])) for w in batch]
        if LONG.match(batch[0]):
            outputs += zip(batch, run_until_stopped(hall, commands, block), strict=True)
            continue
        ((written, command),) = commands
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=hall.path,
            env=hall.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (
            f"{block.name}: `{written}` exit {done.returncode}\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
        clean(f"{block.name}: `{written}`", done.stdout + done.stderr)
    for written, output in outputs:
        clean(f"{block.name}: `{written}`", output)


def test_the_photo_of_the_docs_has_one_face(tmp_path: Path) -> None:
    # The faces block enrols it: it must show one face (checked here apart so that a
    # failure says so rather than "the block failed").
    from edge.faces.detect import DetectSettings, find_faces  # noqa: PLC0415 - dlib, here only

    astronaut_face(tmp_path / "customer.jpg")
    data = (tmp_path / "customer.jpg").read_bytes()
    assert len(find_faces(data, DetectSettings(downscale=640, upsample=1))) == 1
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (512, 300)
