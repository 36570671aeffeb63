"""The second-generation pages in headless Chromium (Debian's /usr/bin/chromium via
Playwright): whole rows and sortable columns on the sessions list, two sessions picked and
compared with the keyboard alone, the replay's step list, the money page from the session page,
uPlot charts under the CSP, no element overflowing at 1280x800 or 1920x1080, and HTML in names
and prompts never running on the new views."""

from __future__ import annotations

import re

import pytest
from _dashboard_support import AUTH, SCRIPT, XSS_SESSION, Server
from _pages_support import VARIANT, demo_payload, demo_sid, server  # noqa: F401 (fixtures)
from playwright.sync_api import Page, expect
from test_dashboard_browser import _Watch, browser  # noqa: F401 (the Chromium fixture)


@pytest.fixture(params=[(1280, 800), (1920, 1080)], ids=["1280x800", "1920x1080"])
def size(request: pytest.FixtureRequest) -> dict[str, int]:
    return {"width": request.param[0], "height": request.param[1]}


def _page(browser, server: Server, viewport: dict[str, int] | None = None) -> Page:  # noqa: F811
    context = browser.new_context(
        base_url=server.url,
        extra_http_headers=AUTH,
        viewport=viewport or {"width": 1280, "height": 800},
    )
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    opened.watch = _Watch(opened)
    return opened


@pytest.fixture
def page(browser, server: Server):  # noqa: F811
    opened = _page(browser, server)
    yield opened
    opened.context.close()


def _tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches ``selector`` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never took the focus by Tab")


def test_a_click_anywhere_on_a_row_opens_the_session(page, demo_sid) -> None:  # noqa: F811
    sid = demo_sid
    page.goto("/")
    page.locator(f'tr[data-url="/sessions/{sid}"] td.name').click()
    expect(page).to_have_url(re.compile(f"/sessions/{sid}$"))
    page.locator("#money-link").click()  # the session header links the cost breakdown
    expect(page).to_have_url(re.compile(f"/sessions/{sid}/money$"))
    expect(page.locator("#money tr.level-agent").first).to_contain_text("email-assistant")
    page.watch.clean()


def test_sort_and_compare_with_the_keyboard_only(page, demo_sid) -> None:  # noqa: F811
    sid = demo_sid
    page.goto("/")
    _tab_to(page, "th:nth-child(9) button.sort")  # Cost
    page.keyboard.press("Enter")
    cost_header = page.locator("table.sessions th:nth-child(9)")
    expect(cost_header).to_contain_text("Cost")
    expect(cost_header).to_have_attribute("aria-sort", "ascending")
    costs = [
        float(v)
        for v in page.locator("tr.session-row td.cost").evaluate_all(
            "cells => cells.map((c) => c.dataset.sort)"
        )
    ]
    assert costs == sorted(costs) and len(costs) >= 3
    page.keyboard.press("Enter")
    expect(cost_header).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#compare-button")).to_be_disabled()
    for chosen in (sid, VARIANT):
        _tab_to(page, f'input[name="s"][value="{chosen}"]')
        page.keyboard.press("Space")
    expect(page.locator("#compare-button")).to_be_enabled()
    _tab_to(page, "#compare-button")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/compare\?s="))
    first = page.locator("li.first-divergence")
    expect(first).to_have_id("pair-2")
    _tab_to(page, "#divergence a[href='#pair-2']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#pair-2$"))
    expect(first.locator(".side .differs")).to_have_count(4)  # name and model, both sides
    assert {"gpt-4", "gpt-4o"} <= set(first.locator(".side .differs").all_inner_texts())
    page.watch.clean()


def test_replay_step_list_follows_the_keys_and_clicks(page, demo_sid) -> None:  # noqa: F811
    sid = demo_sid
    page.goto(f"/sessions/{sid}/replay")
    links = page.locator("#step-list .step-link")
    expect(links).to_have_count(6)
    expect(links.nth(0)).to_have_attribute("aria-current", "step")
    page.keyboard.press("ArrowRight")
    expect(links.nth(1)).to_have_attribute("aria-current", "step")
    expect(links.nth(0)).not_to_have_attribute("aria-current", "step")
    links.nth(3).click()  # the tool call, its arguments by name
    expect(page.locator("#position")).to_have_text("Step 4 of 6")
    expect(page.locator(".step.current table.arguments th").first).to_have_text("date")
    page.keyboard.press("End")  # the failed call: its error in place
    expect(page.locator(".step.current .step-error")).to_contain_text("Error code: 500")
    expect(page.locator(".step.current .running")).to_contain_text("So far:")
    page.watch.clean()


def test_overview_charts_are_drawn_by_the_vendored_library(page) -> None:
    page.goto("/overview?range=24h")
    expect(page.locator("figure.chart canvas")).to_have_count(5)
    swatch = page.locator(".legend .swatch").first.bounding_box()
    assert swatch["width"] <= 12 and swatch["height"] <= 12  # not stretched by chart CSS
    label = page.locator(".legend li").first.bounding_box()
    assert label["height"] < 40
    page.watch.clean()


# Elements whose right edge passes the viewport, and whether the page scrolls sideways.
_OVERFLOWING = """() => {
  const limit = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > limit + 1) out.push(`${el.tagName}.${el.className}`);
  }
  if (document.documentElement.scrollWidth > limit) out.push("the page scrolls sideways");
  return out;
}"""


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/overview?range=24h",
        "/money?range=24h",
        "/sessions/{sid}/money",
        "/sessions/{sid}/replay",
        "/compare?a={sid}&b=" + VARIANT,
        "/compare?a=" + XSS_SESSION + "&b={sid}",
    ],
)
def test_nothing_overflows(browser, server: Server, demo_sid, size, path) -> None:  # noqa: F811
    page = _page(browser, server, size)
    try:
        page.goto(path.format(sid=demo_sid))
        page.wait_for_load_state("networkidle")
        wide = page.evaluate(_OVERFLOWING)
        assert wide == [], wide[:5]
        page.watch.clean()
    finally:
        page.context.close()


def test_html_never_runs_on_compare_and_money(page, demo_sid) -> None:  # noqa: F811
    sid = demo_sid
    page.goto(f"/compare?a={XSS_SESSION}&b={sid}")
    expect(page.locator("li.pair").first).to_contain_text(SCRIPT)
    for details in page.locator("details.content").all():
        details.evaluate("(d) => { d.open = true; }")
    assert page.locator("main img").count() == 0 and page.locator("main script").count() == 0
    page.goto(f"/sessions/{XSS_SESSION}/money")
    expect(page.locator("#top-calls")).to_contain_text("chat <img")
    assert page.locator("main img").count() == 0
    page.watch.clean()
