"""The hall console in a real browser (Debian's Chromium, driven by Playwright) against a real
hub: its own Mosquitto brokers, the hub process with [http] on a free loopback port, events
published by generic MQTT devices to the hall broker."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from edge.sim.console_hall import HALL_NAME, PASSWORD, USER, ConsoleHall
from tests.support.waits import wait_until
from tests.web.console_page import LIVE_S, PHONE, colours, needs_browser, open_console, shown_within

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = needs_browser


def _service(hall: ConsoleHall, code: str) -> dict[str, Any]:
    services = hall.get_json("/api/state")["queue"]["services"]
    return next(s for s in services if s["service"] == code)


def _login(page: Page, name: str, password: str) -> None:
    page.click("#login-open")
    page.fill("#login-form input[name=name]", name)
    page.fill("#login-form input[name=password]", password)
    page.click("#login-submit")


def test_the_page_loads_with_its_zh_cn_text_rendered(page: Page, hall: ConsoleHall) -> None:
    open_console(page, hall)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.text_content("[data-tab=queue]") == "排队"
    assert page.text_content("[data-tab=ratings]") == "评价与标兵窗口"
    assert page.text_content("#hall-name") == HALL_NAME
    assert "各业务排队" in page.inner_text("#tab-queue")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1920, "wider than the wall"
    count, share = colours(page.screenshot(full_page=True))
    # A blank or a failed page is one or two colours; the console has text, badges and tiles.
    assert count > 200, f"{count} colours: the page looks blank"
    assert share > 0.05, f"only {share:.1%} of the page is not background"
    # Glyphs, not boxes: two different Chinese words draw differently (a missing CJK font
    # draws both as the same row of empty boxes).
    page.evaluate(
        """() => { for (const [id, text] of [["g1", "排队叫号"], ["g2", "窗口设备"]]) {
             const s = document.createElement("span"); s.id = id; s.textContent = text;
             s.style.cssText = "font-size:40px;background:#fff;color:#000";
             document.body.prepend(s); } }"""
    )
    first, second = page.screenshot(clip=_box(page, "#g1")), page.screenshot(clip=_box(page, "#g2"))
    assert first != second, "two Chinese words render the same: no CJK font"
    assert colours(first)[1] > 0.05, "a Chinese word drew nothing"


def _box(page: Page, selector: str) -> Any:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box


def test_a_new_ticket_shows_within_a_second(page: Page, hall: ConsoleHall) -> None:
    open_console(page, hall, "queue")
    before = _service(hall, "payment")["waiting"]
    selector = f'[data-service="payment"][data-field="waiting"]:text-is("{before + 1}")'
    took = shown_within(page, selector, lambda: hall.request_ticket("payment"))
    assert took < LIVE_S, f"the new ticket took {took:.2f} s to show"
    # What the page shows is the hub's view: the same next numbers as /api/state.
    shown = page.inner_text('[data-service="payment"][data-field="next"]').split()
    assert shown == _service(hall, "payment")["next"] and shown, shown


def test_a_device_going_offline_shows_within_a_second(page: Page, hall: ConsoleHall) -> None:
    hall.set_online("spare-1", True)
    open_console(page, hall, "devices")
    page.wait_for_selector('[data-device="spare-1"][data-online="true"]', timeout=10_000)
    selector = '[data-device="spare-1"][data-online="false"]'
    took = shown_within(page, selector, lambda: hall.set_online("spare-1", False))
    assert took < LIVE_S, f"the device's going offline took {took:.2f} s to show"
    assert page.inner_text(selector) == "离线"
    device = next(d for d in hall.get_json("/api/state")["devices"] if d["id"] == "spare-1")
    assert device["online"] is False


def test_a_wrong_password_is_refused(page: Page, hall: ConsoleHall) -> None:
    open_console(page, hall)
    _login(page, USER, PASSWORD + "-wrong")
    page.wait_for_selector("#login-error[data-status='401']", timeout=5_000)
    assert page.inner_text("#login-error") == "用户名或密码错误"
    assert "authed" not in (page.get_attribute("body", "class") or "")
    assert page.is_hidden("#logout")
    assert page.request.get(f"{hall.url}/api/session").status == 401


def test_an_alert_is_acknowledged_after_login(page: Page, hall: ConsoleHall) -> None:
    hall.paper("near_end")  # the default rules raise an alert for it
    open_console(page, hall, "ops")
    open_alert = "[data-alert][data-acked=false]"
    page.wait_for_selector(open_alert, timeout=10_000)
    assert page.locator("button[data-action=ack]").count() == 0, "an ack button before login"
    _login(page, USER, PASSWORD)
    page.wait_for_selector("body.authed", timeout=5_000)
    assert page.inner_text("#user-name") == f"已登录：{USER}"
    cell = page.locator(open_alert).first
    alert_id = cell.get_attribute("data-alert")
    cell.locator("button[data-action=ack]").click()
    page.wait_for_selector(f'[data-alert="{alert_id}"][data-acked=true]', timeout=5_000)

    def acked_by_hub() -> bool:
        alerts = hall.get_json("/api/state")["ops"]["alerts"]
        return any(a["id"] == alert_id and a["acked"] and a["acked_by"] == USER for a in alerts)

    wait_until(acked_by_hub, 5, f"the hub to hold alert {alert_id} as acknowledged by {USER}")
    assert USER in page.inner_text(f'[data-alert="{alert_id}"]')


def test_a_counter_is_paused_only_after_login(page: Page, hall: ConsoleHall) -> None:
    hall.press(1, "open")
    open_console(page, hall, "counters")
    state = '[data-counter="1"][data-field="state"]'
    page.wait_for_selector(f"{state}:has-text('开放')", timeout=10_000)
    assert page.locator("button[data-action=pause]").count() == 0, "a pause button before login"
    refused = page.request.post(f"{hall.url}/api/counters/1/pause")
    assert refused.status == 401
    _login(page, USER, PASSWORD)
    page.click('button[data-action=pause][data-counter="1"]', timeout=5_000)
    page.wait_for_selector(f"{state}:has-text('暂停')", timeout=5_000)
    counter = next(c for c in hall.get_json("/api/state")["counters"] if c["counter"] == 1)
    assert counter["state"] == "paused"
    page.click('button[data-action=resume][data-counter="1"]', timeout=5_000)
    page.wait_for_selector(f"{state}:has-text('开放')", timeout=5_000)


def test_the_english_switch(page: Page, hall: ConsoleHall) -> None:
    open_console(page, hall, "devices")
    assert page.text_content("#lang-switch") == "English"
    page.click("#lang-switch")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.text_content("[data-tab=queue]") == "Queue"
    assert page.text_content("[data-tab=ratings]") == "Ratings & model counter"
    assert "Device" in page.inner_text("#devices-table thead")
    assert not re.search(r"[\u4e00-\u9fff]", page.inner_text("nav.tabs"))
    page.reload()  # the choice is kept
    page.wait_for_selector("body[data-updated]", timeout=10_000)
    assert page.text_content("[data-tab=counters]") == "Counters"
    page.click("#lang-switch")
    assert page.text_content("[data-tab=counters]") == "窗口"


def test_the_page_fits_a_phone(browser: Browser, hall: ConsoleHall) -> None:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
    try:
        page = context.new_page()
        for tab in ("queue", "counters", "devices", "ratings", "ops"):
            open_console(page, hall, tab)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{tab}: the page is {width} px wide on a phone"
        # The race chart is drawn (uPlot's canvas) once its tab is shown.
        assert page.locator("#ratings-race canvas").count() == 1
    finally:
        context.close()


def test_the_monthly_report_prints_on_a4(page: Page, hall: ConsoleHall) -> None:
    month = hall.get_json("/api/state")["hall"]["day"][:7]
    page.goto(f"{hall.url}/report?month={month}")
    page.wait_for_selector(f"body[data-rendered='{month}']", timeout=15_000)
    assert month in page.inner_text("h1")
    assert page.locator("#r-chart-volume canvas").count() == 1
    issued = page.inner_text("#r-summary [data-field=issued]")
    assert issued == str(hall.get_json(f"/api/report?month={month}")["hall"]["issued"])
    fits = """() => { const edge = document.getElementById("report").getBoundingClientRect().right;
                return [...document.querySelectorAll("#report table")]
                  .filter((t) => t.getBoundingClientRect().right > edge + 1).length; }"""
    assert page.evaluate(fits) == 0, "a table is wider than the A4 sheet"
    page.click("#lang-switch")  # English headers are longer
    assert page.inner_text("#r-summary") and "Hall KPIs" in page.inner_text("#r-body")
    assert page.evaluate(fits) == 0, "an English table is wider than the A4 sheet"
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    sizes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert sizes, "no page in the PDF"
    for w, h in sizes:  # A4 is 595 × 842 points
        assert abs(float(w) - 595) < 2 and abs(float(h) - 842) < 2, (w, h)


def test_a_rating_shows_in_todays_satisfaction(page: Page, hall: ConsoleHall) -> None:
    hall.press(1, "open")
    hall.request_ticket("payment")
    open_console(page, hall, "ratings")
    before = hall.get_json("/api/state")["ratings"]["today"]["count"]

    def served() -> int:
        counters = hall.get_json("/api/state")["counters"]
        return int(next(c["served_today"] for c in counters if c["counter"] == 1))

    done = served()
    hall.press(1, "call_next")
    hall.press(1, "finish")  # the completed ticket makes the hub ask pad-1 for a rating
    wait_until(lambda: served() == done + 1, 10, "counter 1 to complete a ticket")
    selector = f'#ratings-today [data-field="count"]:text-is("{before + 1}")'
    took = shown_within(page, selector, lambda: hall.rate(1, 5))
    assert took < LIVE_S, f"the rating took {took:.2f} s to show"
    today = hall.get_json("/api/state")["ratings"]["today"]
    assert page.inner_text('#ratings-today [data-field="rate"]') == (
        f"{today['satisfaction_rate'] * 100:.1f}%"
    )


def test_a_ticket_is_announced_again_only_after_login(page: Page, hall: ConsoleHall) -> None:
    hall.press(2, "open")
    hall.request_ticket("consultation")
    hall.press(2, "call_next")

    def current() -> str | None:
        counters = hall.get_json("/api/state")["counters"]
        ticket: str | None = next(c["current"] for c in counters if c["counter"] == 2)
        return ticket

    wait_until(lambda: current() is not None, 10, "counter 2 to call a ticket")
    ticket = current()

    def calls() -> int:
        recent = hall.get_json("/api/state")["queue"]["recent_calls"]
        return sum(1 for c in recent if c["ticket_no"] == ticket and c["counter"] == 2)

    before = calls()
    open_console(page, hall, "counters")
    assert page.locator("button[data-action=recall]").count() == 0, "a recall button before login"
    _login(page, USER, PASSWORD)
    page.click('button[data-action=recall][data-counter="2"]', timeout=5_000)
    page.wait_for_selector("#toast.show:has-text('已执行')", timeout=5_000)
    wait_until(lambda: calls() == before + 1, 5, f"the hub to call {ticket} again")
    page.reload()  # the session outlives a reload: the buttons come back
    page.wait_for_selector("body.authed", timeout=5_000)
    # The counters table is drawn from the state that follows the login check: on a busy
    # machine (two test workers) after `body.authed`, so its button is waited for.
    recall = 'button[data-action=recall][data-counter="2"]'
    page.wait_for_selector(recall, timeout=5_000)
    assert page.locator(recall).count() == 1


def test_the_page_reconnects_when_the_hub_restarts(page: Page, hall: ConsoleHall) -> None:
    open_console(page, hall, "queue")
    page.evaluate(
        """() => { window.__live = []; const el = document.getElementById("live");
             new MutationObserver(() => window.__live.push(el.dataset.live))
               .observe(el, {attributes: true, attributeFilter: ["data-live"]}); }"""
    )
    hall.restart_hub()
    page.wait_for_selector("#live[data-live=true]", timeout=15_000)
    seen = page.evaluate("window.__live")
    assert "false" in seen and seen[-1] == "true", f"the page's link went {seen}"
    assert page.inner_text("#live") == "实时"
    # The stream after the restart is live: a new ticket shows.
    before = _service(hall, "payment")["waiting"]
    selector = f'[data-service="payment"][data-field="waiting"]:text-is("{before + 1}")'
    took = shown_within(page, selector, lambda: hall.request_ticket("payment"))
    assert took < LIVE_S, f"after the restart the new ticket took {took:.2f} s to show"
