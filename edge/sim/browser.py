"""Debian's Chromium driven by Playwright for Python, for the console's browser tests and its
delay benchmark. Playwright's own browser download cannot run on a hall LAN (nor here), so
this is the system's /usr/bin/chromium (installed by ./hall). Playwright is a development
dependency: it is imported by the callers, never by the hub."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
# Nothing leaves the machine: no QUIC, no component or safe-browsing updates, no sync; no
# sandbox because the tests run as root; no GPU on a server.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_missing() -> str | None:
    """Why the browser cannot run here, after trying to install it (as ./hall setup does,
    when running as root with apt); None when it can."""
    if not CHROMIUM.exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "fonts-wqy-microhei"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            check=False,
            timeout=600,
        )
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent and could not be installed (apt-get install chromium)"
    try:
        import playwright  # noqa: F401, PLC0415
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]', or ./hall setup)"
    return None


def launch(pw: Playwright) -> Browser:
    """A headless Chromium; each `new_context()` of it is a fresh profile (its own cookies
    and storage, in a temporary user-data-dir Playwright makes and removes)."""
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
