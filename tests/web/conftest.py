"""The console's browser tests: one real hub (edge/sim/console_hall.py) and one Chromium per
module, a fresh browser context (its own cookies and storage) per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from edge.sim.browser import launch
from edge.sim.console_hall import ConsoleHall
from tests.web.console_page import WALL

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleHall]:
    with ConsoleHall(tmp_path_factory.mktemp("console")) as h:
        yield h


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only where it can run)

    with sync_playwright() as pw:
        b = launch(pw)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, hall: ConsoleHall) -> Iterator[Page]:
    context = browser.new_context(viewport=WALL, locale="zh-CN")
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    # The hall LAN has no internet: every file the page loads comes from the hub.
    elsewhere: list[str] = []
    p.on(
        "request",
        lambda r: None if r.url.startswith((hall.url + "/", "data:")) else elsewhere.append(r.url),
    )
    yield p
    context.close()
    assert not errors, f"the page threw: {errors}"
    assert not elsewhere, f"the page asked for files elsewhere than the hub: {elsewhere}"
