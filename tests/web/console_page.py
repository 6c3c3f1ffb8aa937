"""What the console's browser tests share: the skip when no browser can be had, viewports,
opening the page, and reading a screenshot."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from edge.sim.browser import chromium_missing
from edge.sim.console_hall import ConsoleHall

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

# Tried (and installed when possible) once, at collection: the tests skip with this reason
# only where no browser can be had at all. ./hall setup installs it, so CI has it.
MISSING = chromium_missing()
needs_browser = pytest.mark.skipif(MISSING is not None, reason=f"no browser: {MISSING}")

WALL: ViewportSize = {"width": 1920, "height": 1080}
PHONE: ViewportSize = {"width": 390, "height": 844}
LIVE_S = 1.0  # the issue: live updates arrive within 1 s of the event


def open_console(page: Page, hall: ConsoleHall, tab: str = "queue") -> None:
    """The console on `tab`, once its live stream is open and the first view is drawn."""
    page.goto(f"{hall.url}/#{tab}")
    page.wait_for_selector("#live[data-live=true]", timeout=10_000)
    page.wait_for_selector("body[data-updated]", timeout=10_000)


def shown_within(page: Page, selector: str, action: Callable[[], object]) -> float:
    """Seconds from just before `action()` (a device publishing) until `selector` matches in
    the page; fails after 10 s."""
    start = time.monotonic()
    action()
    page.wait_for_selector(selector, timeout=10_000, state="attached")
    return time.monotonic() - start


def colours(png: bytes) -> tuple[int, float]:
    """(distinct colours, share of pixels not of the most common colour) of a screenshot."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    counts = image.getcolors(maxcolors=1 << 24) or []
    total = image.width * image.height
    background = max(n for n, _ in counts)
    return len(counts), 1 - background / total
