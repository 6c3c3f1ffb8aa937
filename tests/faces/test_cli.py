"""`hall-edge faces ...` commands, run through typer's CliRunner on a real config and vault."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from edge.cli.faces import app
from edge.faces.consent import Enrolment
from edge.faces.vault import FaceVault
from tests.faces.conftest import TEST_DOWNSCALE, key_mode, photo_path
from tests.faces.privacy import encoding_forms

runner = CliRunner()
# The CLI reads the wall clock: expiry dates are relative to today.
VALID = (date.today() + timedelta(days=200)).isoformat()

CONFIG = f"""
[hall]
id = "hall-1"
timezone = "Asia/Shanghai"

[hall_broker]
url = "mqtt://127.0.0.1:1883"

[cloud]
url = "mqtt://127.0.0.1:1884"

[faces]
enabled = true
vault_path = "data/faces.db"
key_path = "secret/faces.key"
downscale = {TEST_DOWNSCALE}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "hall.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def enroll_args(config: Path, image: Path, **changes: str) -> list[str]:
    opts = {
        "--customer-ref": "C-1001",
        "--consent-id": "FC-0042",
        "--expires": VALID,
        **changes,
    }
    args = ["enroll", "--image", str(image), "-c", str(config)]
    for key, value in opts.items():
        if value:
            args += [key, value]
    return args


def test_every_command_has_help() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    assert set(group.commands) == {"enroll", "erase", "list", "erasures"}
    for name, command in group.commands.items():
        assert command.help, f"{name} lacks help"
        for param in command.params:
            if param.name not in ("help",) and isinstance(param, click.Option):
                assert param.help, f"{name} --{param.name} lacks help"


def test_enroll_list_erase_round_trip(config: Path, tmp_path: Path) -> None:
    code, out, err = invoke(*enroll_args(config, photo_path("astronaut.jpg")), "--vip")
    assert (code, err) == (0, ""), err
    assert f"enrolled C-1001 (consent FC-0042, valid until {VALID})" in out
    assert key_mode(tmp_path / "secret" / "faces.key") == 0o600
    assert (tmp_path / "data" / "faces.db").is_file()

    code, out, _ = invoke("list", "-c", str(config))
    assert code == 0
    assert "C-1001" in out and "FC-0042" in out and VALID in out
    with FaceVault(tmp_path / "data" / "faces.db", tmp_path / "secret" / "faces.key") as vault:
        (stored,) = vault.load()[1]
        assert vault.enrolments()[0].vip is True
    for _label, form in encoding_forms(stored):
        assert form not in out.encode()
    assert f"{stored[0]:.4f}"[:6] not in out  # no printed numbers of the encoding either

    code, out, _ = invoke("erase", "C-1001", "-c", str(config))
    assert (code, out.strip()) == (0, "erased C-1001")
    code, out, _ = invoke("list", "-c", str(config))
    assert (code, out.strip()) == (0, "no enrolments")
    code, out, _ = invoke("erasures", "-c", str(config))
    assert code == 0 and "C-1001" in out and "FC-0042" in out and "request" in out


def test_refusals_are_one_red_line_and_exit_2(config: Path, tmp_path: Path) -> None:
    group = photo_path("astronaut-group.jpg")
    blank = tmp_path / "wall.jpg"
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(blank, "JPEG")
    cases = [
        (enroll_args(config, group), "3 faces found in"),
        (enroll_args(config, blank), "no face found in"),
        (enroll_args(config, blank, **{"--consent-id": ""}), "consent_id is missing"),
        (
            enroll_args(config, blank, **{"--expires": "2020-01-01"}),
            "expires 2020-01-01 is in the past",
        ),
        (
            [*enroll_args(config, blank), "--minor"],
            "a guardian's consent is required",
        ),
        (
            enroll_args(config, tmp_path / "missing.jpg"),
            "cannot read the image",
        ),
        (["erase", "C-404", "-c", str(config)], "no enrolment under reference 'C-404'"),
        (["list", "-c", str(tmp_path / "nope.toml")], "expected a readable TOML file"),
    ]
    for args, words in cases:
        code, out, err = invoke(*args)
        assert code == 2, (args, out, err)
        assert words in err, (words, err)
        assert out == ""


def test_a_group_readable_key_is_refused(config: Path, tmp_path: Path) -> None:
    assert invoke("list", "-c", str(config))[0] == 0
    (tmp_path / "secret" / "faces.key").chmod(0o644)
    code, _, err = invoke("list", "-c", str(config))
    assert code == 2 and "chmod 600" in err


def test_enroll_reads_other_image_formats(
    config: Path, photo: Callable[[str], bytes], tmp_path: Path
) -> None:
    png = tmp_path / "customer.png"
    Image.open(io.BytesIO(photo("astronaut-480p.jpg"))).save(png, "PNG")
    code, out, err = invoke(*enroll_args(config, png, **{"--customer-ref": "C-7"}))
    assert code == 0, err
    assert "enrolled C-7" in out


def test_list_erases_expired_enrolments_first(config: Path, tmp_path: Path) -> None:
    yesterday = date.today() - timedelta(days=2)
    with FaceVault(tmp_path / "data" / "faces.db", tmp_path / "secret" / "faces.key") as vault:
        vault.enroll(
            Enrolment("C-old", "FC-1", "p", yesterday), np.full(128, 0.01), datetime.now(UTC)
        )
        vault.enroll(
            Enrolment("C-new", "FC-2", "p", date.fromisoformat(VALID)),
            np.full(128, 0.5),
            datetime.now(UTC),
        )
    code, out, _ = invoke("list", "-c", str(config))
    assert code == 0
    assert "erased 1 expired enrolment(s): C-old" in out
    assert "C-new" in out
    code, out, _ = invoke("erasures", "-c", str(config))
    assert "C-old" in out and "expired" in out
