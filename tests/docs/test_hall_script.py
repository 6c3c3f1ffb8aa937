"""`./hall setup` puts `hall-edge` on PATH, as every doc writes it, and does it once."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def setup(bin_dir: Path) -> str:
    env = {**os.environ, "HALL_BIN_DIR": str(bin_dir)}
    done = subprocess.run(
        ["./hall", "setup"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_setup_links_hall_edge_of_this_checkout_once(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    first = setup(bin_dir)
    link = bin_dir / "hall-edge"
    assert link.is_symlink() and link.resolve() == (ROOT / ".venv/bin/hall-edge").resolve()
    assert f"hall-edge is {link}" in first and "not on PATH" in first
    assert "hall-edge is" not in setup(bin_dir), "a second setup links again"
    link.unlink()
    link.symlink_to("/elsewhere/hall-edge")  # another checkout's: this one takes it over
    assert f"hall-edge is {link}" in setup(bin_dir)
    assert link.resolve() == (ROOT / ".venv/bin/hall-edge").resolve()
    out = subprocess.run([str(link), "--help"], capture_output=True, text=True, check=True)
    assert "Usage: hall-edge" in out.stdout
