"""The dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): tree
expand / collapse, span detail with escaped messages, replay by keyboard, no script injection and
no console errors (a CSP violation would be one)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from _dashboard_support import (
    AUTH,
    SCRIPT,
    TOKEN,
    XSS_SESSION,
    Server,
    json_request,
    json_span,
    post_json,
    run_demo,
    send_foreign_spans,
    start_server,
    stop_server,
)
from playwright.sync_api import expect, sync_playwright

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.testing.chromium import CHROMIUM, CHROMIUM_ARGS
from agentops_otel.view._model import RUNNING_PARENT


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    demo = run_demo(tmp_path_factory.mktemp("demo-source"))
    running = start_server(tmp_path_factory.mktemp("browser-home"))
    try:
        send_foreign_spans(running.url)
        with running.client() as client:
            assert post_json(client, demo, compress=True).status_code == 200
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y "
            "chromium; `bash scripts/dev.sh test` does it as root) for the browser tests"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class _Watch:
    """Dialogs (an injected alert would open one), console errors and page errors."""

    def __init__(self, page) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def clean(self) -> None:
        assert self.dialogs == [] and self.errors == []


@pytest.fixture
def page(browser, server: Server):
    context = browser.new_context(base_url=server.url, extra_http_headers=AUTH)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    opened.watch = _Watch(opened)
    yield opened
    context.close()


def _demo(server: Server):
    with Store.open(server.home) as store:
        (session,) = [s for s in store.list_sessions() if s.name == "inbox-demo"]
        return session, store.session_spans(session.id)


ROWS = "#tree-body .span-row[data-span]"


def test_tree_collapses_expands_and_shows_span_detail(page, server: Server) -> None:
    session, spans = _demo(server)
    page.goto(f"/sessions/{session.id}")
    rows = page.locator(ROWS)
    expect(rows).to_have_count(len(spans))
    count = page.locator("#shown-count")
    rows.first.locator(".toggle").click()
    expect(count).to_have_text("1")
    expect(rows.first).to_have_attribute("aria-expanded", "false")
    rows.first.locator(".toggle").click()
    expect(count).to_have_text(str(len(spans)))
    page.click("#collapse-all")
    expect(rows).to_have_count(1)
    page.click("#expand-all")
    expect(rows).to_have_count(len(spans))

    llm = next(s for s in spans if s.agentops_kind == "llm" and s.status_code != "ERROR")
    page.locator(f'{ROWS}[data-span="{llm.span_id}"] .span-name').click()
    detail = page.locator(f'#detail section[data-span="{llm.span_id}"]')
    detail.wait_for()
    assert detail.locator(".msg.role-user").count() >= 1
    assert detail.locator(".msg.role-assistant").count() >= 1
    expect(page.locator(f'{ROWS}[data-span="{llm.span_id}"]')).to_have_class(re.compile("selected"))
    raw = detail.locator("pre.raw-json")
    expect(raw).to_be_hidden()
    detail.locator("details.raw summary").click()
    expect(raw).to_be_visible()
    assert llm.span_id in raw.inner_text()
    page.watch.clean()


def test_html_in_names_and_prompts_is_shown_as_text_and_never_runs(page, server: Server) -> None:
    page.goto("/")
    assert "<img src=x onerror=alert('xss-img')>" in page.locator("table.sessions").inner_text()
    page.goto(f"/sessions/{XSS_SESSION}")
    expect(page.locator(ROWS).first.locator(".span-name")).to_have_text(SCRIPT)
    page.locator(ROWS).nth(1).locator(".span-name").click()
    user = page.locator("#detail .msg.role-user .text")
    user.wait_for()
    assert SCRIPT in user.inner_text()
    assert page.locator("#detail img").count() == 0 and page.locator("#detail script").count() == 0
    page.goto(f"/sessions/{XSS_SESSION}/replay")
    expect(page.locator(".step.current")).to_contain_text(SCRIPT)
    page.watch.clean()


def test_replay_steps_with_the_keyboard(page, server: Server) -> None:
    session, spans = _demo(server)
    steps = [s for s in spans if s.agentops_kind in ("llm", "tool")]
    assert len(steps) >= 3
    page.goto(f"/sessions/{session.id}/replay")
    position = page.locator("#position")
    current = page.locator(".step.current")
    expect(position).to_have_text(f"Step 1 of {len(steps)}")
    expect(page.locator(".step:visible")).to_have_count(1)
    expect(current.locator("h2")).to_contain_text(steps[0].name)
    page.keyboard.press("ArrowRight")
    expect(position).to_have_text(f"Step 2 of {len(steps)}")
    expect(current.locator("h2")).to_contain_text(steps[1].name)
    page.keyboard.press("End")
    expect(position).to_have_text(f"Step {len(steps)} of {len(steps)}")
    page.keyboard.press("ArrowRight")  # stays on the last step
    expect(position).to_have_text(f"Step {len(steps)} of {len(steps)}")
    page.keyboard.press("ArrowLeft")
    expect(position).to_have_text(f"Step {len(steps) - 1} of {len(steps)}")
    page.keyboard.press("Home")
    expect(position).to_have_text(f"Step 1 of {len(steps)}")
    expect(page).to_have_url(re.compile("#step-1$"))
    page.click("#next")
    expect(position).to_have_text(f"Step 2 of {len(steps)}")
    page.watch.clean()


def test_sessions_and_overview_render_without_console_errors(page, server: Server) -> None:
    page.goto("/")
    assert page.locator("tr.session-row").count() >= 3
    page.goto("/overview?range=24h")
    assert page.locator("figure.chart").count() == 5  # four usage charts and the rates
    assert page.locator("figure.chart canvas").count() == 5  # drawn by the vendored uPlot
    page.watch.clean()


def test_login_form_sets_the_cookie(browser, server: Server) -> None:
    context = browser.new_context(base_url=server.url)
    try:
        anonymous = context.new_page()
        watch = _Watch(anonymous)
        anonymous.goto("/")
        expect(anonymous).to_have_url(re.compile("/login$"))
        anonymous.fill("input[name=token]", TOKEN)
        anonymous.click("button[type=submit]")
        anonymous.locator("table.sessions").wait_for()
        watch.clean()
    finally:
        context.close()


def _chat(trace: str, sid: str, span_id: int, text: str) -> dict:
    return json_span(
        trace,
        span_id,
        f"chat {text}",
        {
            A.SESSION_ID: sid,
            A.SPAN_KIND: A.KIND_LLM,
            A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_USAGE_INPUT_TOKENS: 100,
            A.GEN_AI_INPUT_MESSAGES: text,
        },
        parent=1,
    )


def test_pages_show_spans_that_arrive_while_they_are_open(page, server: Server) -> None:
    trace = f"{0x7E57:032x}"
    with server.client() as client:

        def send(*spans: dict) -> None:
            assert post_json(client, json_request(list(spans)), compress=False).status_code == 200

        page.goto("/")
        expect(page.locator("tr.session-row")).not_to_have_count(0)
        send(_chat(trace, "live-session", 2, "first call"))  # no root yet: running
        expect(page.locator('a[href="/sessions/live-session"]')).to_be_visible()
        row = page.locator("tr.session-row", has=page.locator('a[href="/sessions/live-session"]'))
        expect(row.locator(".state.running")).to_be_visible()

        page.goto("/sessions/live-session")
        rows = page.locator(ROWS)
        # the session span (1) has not ended: a running stand-in holds its child
        expect(rows).to_have_count(2)
        expect(rows.first.locator(".span-name")).to_have_text(RUNNING_PARENT)
        expect(rows.first).to_have_class(re.compile("running"))
        expect(rows.nth(1)).to_have_attribute("aria-level", "2")
        send(
            _chat(trace, "live-session", 3, "second call"),
            _chat(trace, "live-session", 4, "third call"),
        )
        expect(rows).to_have_count(4)
        expect(page.locator("#span-count")).to_have_text("3")
        expect(page.locator("#session-totals")).to_contain_text("300")  # tokens in
        page.locator(f'{ROWS}[data-span="0000000000000003"] .span-name').click()
        page.locator('#detail section[data-span="0000000000000003"]').wait_for()

        send(
            json_span(
                trace,
                1,
                "live run",
                {
                    A.SESSION_ID: "live-session",
                    A.SPAN_KIND: A.KIND_SESSION,
                    A.SESSION_END_STATE: "Success",
                },
            )
        )
        expect(rows.first.locator(".span-name")).to_have_text("run")  # "live run" of kind session
        expect(rows).to_have_count(4)
        expect(page.locator("#span-count")).to_have_text("4")
        expect(page.locator("#session-totals")).to_contain_text("Success")
        expect(page.locator("#live")).to_have_attribute("data-running", "false")
        # the open detail and the selected row survive the refresh
        expect(page.locator(f'{ROWS}[data-span="0000000000000003"]')).to_have_class(
            re.compile("selected")
        )
        expect(page.locator('#detail section[data-span="0000000000000003"]')).to_be_visible()
        # the tree answers clicks after it
        rows.first.locator(".toggle").click()
        expect(rows).to_have_count(1)
    page.watch.clean()


def test_search_box_filters_the_sessions(page, server: Server) -> None:
    page.goto("/")
    page.fill("input[name=q]", SCRIPT)  # the XSS session's prompt holds it
    page.click("form.filters button[type=submit]")
    expect(page.locator("tr.session-row")).to_have_count(1)
    expect(page.locator(f'a[href="/sessions/{XSS_SESSION}"]')).to_be_visible()
    page.fill("input[name=q]", 'no such "words" AND *')
    page.click("form.filters button[type=submit]")
    expect(page.locator("tr.session-row")).to_have_count(0)
    expect(page.locator("p.empty")).to_be_visible()
    page.watch.clean()
