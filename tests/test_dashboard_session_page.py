"""The session page in headless Chromium and over HTTP: the virtualized span list (time axis,
zoom, filter, keyboard), incremental loading from the JSON rows endpoint, the detail drawer,
live sessions whose parents have not ended, ids with "/" in them, injected HTML as text, and
no element overflowing at 1280x800 and 1920x1080."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from urllib.parse import quote, unquote

import _dashboard_support as support
import httpx
import pytest
from _dashboard_support import AUTH, SCRIPT, XSS_SESSION, Server, json_span
from playwright.sync_api import expect, sync_playwright
from test_dashboard_browser import _demo, _Watch

from agentops_otel import semconv as A
from agentops_otel.testing.chromium import CHROMIUM, CHROMIUM_ARGS
from agentops_otel.view._model import RUNNING_PARENT

BIG = "big-session"
BIG_AGENTS, BIG_CALLS = 30, 99  # 1 + 30 * (1 + 99) = 3,001 spans
SLASH = "team/a/run 1?x=1#frag%2F"  # "/", "?", "#", " " and a literal "%2F" in one id
LIVE = "live-parents"
T0 = 1_760_000_000 * 10**9


def _chat(trace: str, sid: str, span_id: int, parent: int, start: int, **attrs: object) -> dict:
    return json_span(
        trace,
        span_id,
        "chat gpt-4o",
        {
            A.SESSION_ID: sid,
            A.SPAN_KIND: A.KIND_LLM,
            A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_USAGE_INPUT_TOKENS: 100,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 10,
            **attrs,
        },
        parent=parent,
        start_ns=start,
        end_ns=start + 5 * 10**6,
    )


def _big_session() -> list[dict]:
    """A session root, 30 agents of 99 calls each; agent 7's call 50 fails."""
    trace = f"{0xB16:032x}"
    end = T0 + BIG_AGENTS * BIG_CALLS * 10**7
    spans = [
        json_span(
            trace,
            1,
            "session big",
            {A.SESSION_ID: BIG, A.SPAN_KIND: A.KIND_SESSION},
            start_ns=T0,
            end_ns=end,
        )
    ]
    for a in range(BIG_AGENTS):
        agent_id = 2 + a * (BIG_CALLS + 1)
        begin = T0 + a * BIG_CALLS * 10**7
        spans.append(
            json_span(
                trace,
                agent_id,
                f"invoke_agent agent-{a:02d}",
                {A.SESSION_ID: BIG, A.SPAN_KIND: A.KIND_AGENT, A.AGENT_NAME: f"agent-{a:02d}"},
                parent=1,
                start_ns=begin,
                end_ns=begin + BIG_CALLS * 10**7,
            )
        )
        for c in range(BIG_CALLS):
            spans.append(_chat(trace, BIG, agent_id + 1 + c, agent_id, begin + c * 10**7))
            if (a, c) == (7, 50):
                spans[-1]["status"] = {"code": "STATUS_CODE_ERROR", "message": "RateLimitError"}
    return spans


def _slash_session() -> list[dict]:
    trace = f"{0x51A5:032x}"
    root = {A.SESSION_ID: SLASH, A.SPAN_KIND: A.KIND_SESSION, A.SESSION_NAME: "slashed"}
    return [
        json_span(trace, 0xA1, "session slashed", root, start_ns=T0, end_ns=T0 + 10**8),
        _chat(trace, SLASH, 0xA2, 0xA1, T0 + 10**7),
        _chat(trace, SLASH, 0xA3, 0xA1, T0 + 3 * 10**7),
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    demo = support.run_demo(tmp_path_factory.mktemp("demo-source"))
    running = support.start_server(tmp_path_factory.mktemp("session-page-home"))
    try:
        support.send_foreign_spans(running.url)
        with running.client() as client:
            for payload in (
                demo,
                support.json_request(_big_session()),
                support.json_request(_slash_session()),
            ):
                assert support.post_json(client, payload, compress=True).status_code == 200
        yield running
    finally:
        support.stop_server(running)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def browser():
    """Chromium for this module (launched as test_dashboard_browser launches it)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _open(browser, server: Server, width: int = 1280, height: int = 800):
    context = browser.new_context(
        base_url=server.url, extra_http_headers=AUTH, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.watch = _Watch(page)
    return context, page


@pytest.fixture
def page(browser, server: Server):
    context, opened = _open(browser, server)
    yield opened
    context.close()


def _show_demo(page, server: Server):
    """The demo session's page, its rows loaded; the session and its spans."""
    session, spans = _demo(server)
    page.goto(f"/sessions/{session.id}")
    _loaded(page, len(spans))
    return session, spans


def _rows(client: httpx.Client, sid: str, **params: object) -> dict:
    answer = client.get(f"/api/sessions/{quote(sid, safe='')}/rows", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


ROWS = "#tree-body .span-row[data-span]"


def _loaded(page, count: int | None = None) -> None:
    page.locator(ROWS).first.wait_for()
    if count is not None:
        expect(page.locator("#shown-count")).to_have_text(str(count))


# --- JSON rows endpoint and routing (plain HTTP) -----------------------------------------------
def test_rows_come_in_windows_of_the_depth_first_tree(client) -> None:
    whole = _rows(client, BIG, limit=1000)
    assert whole["total"] == whole["spans"] == 1 + BIG_AGENTS * (1 + BIG_CALLS)
    assert len(whole["rows"]) == 1000  # the most one answer carries
    first = whole["rows"]
    assert [r["depth"] for r in first[:3]] == [0, 1, 2] and first[0]["kids"] and first[0]["open"]
    assert first[1]["name"] == "agent-00" and first[1]["parent"] == 0
    assert first[2]["parent"] == 1 and first[2]["tokens"] == "100 / 10"
    assert first[2]["cost"].startswith("$") and first[2]["duration"] == "5 ms"
    window = _rows(client, BIG, offset=2990, limit=50)["rows"]
    assert len(window) == whole["total"] - 2990
    assert window[-1]["name"] == "chat gpt-4o" and window[-1]["parent"] == 2901  # agent-29
    assert _rows(client, BIG, offset=2901, limit=1)["rows"][0]["name"] == "agent-29"


def test_rows_fold_and_filter(client) -> None:
    folded = _rows(client, BIG, fold="closed", limit=1000)
    assert folded["total"] == 1 and not folded["rows"][0]["open"]
    root = folded["rows"][0]["id"]
    opened = _rows(client, BIG, fold="closed", toggled=root, limit=1000)
    assert opened["total"] == 1 + BIG_AGENTS
    assert [r["name"] for r in opened["rows"][1:3]] == ["agent-00", "agent-01"]
    agent = opened["rows"][1]["id"]
    collapsed = _rows(client, BIG, toggled=agent, limit=1000)  # all open but agent-00
    assert collapsed["total"] == 1 + BIG_AGENTS * (1 + BIG_CALLS) - BIG_CALLS
    errors = _rows(client, BIG, errors="1")["rows"]
    assert [(r["name"], r["match"]) for r in errors] == [
        ("big", False),
        ("agent-07", False),
        ("chat gpt-4o", True),
    ]
    assert errors[2]["error"] == "RateLimitError" and errors[2]["parent"] == 1
    llm = _rows(client, BIG, llm="1", q="AGENT-03", limit=1000)  # case-insensitive text
    assert llm["total"] == 0  # agent-03's calls are named "chat gpt-4o"
    named = _rows(client, BIG, q="agent-03")["rows"]
    assert [r["name"] for r in named if r["match"]] == ["agent-03"]
    calls = _rows(client, BIG, llm="1", limit=3)  # every call, with its ancestors as context
    assert calls["total"] == 1 + BIG_AGENTS + BIG_AGENTS * BIG_CALLS
    assert [r["match"] for r in calls["rows"]] == [False, False, True]


def test_rows_endpoint_refuses_bad_requests(client) -> None:
    assert client.get(f"/api/sessions/{BIG}/rows?offset=x").status_code == 400
    assert client.get("/api/sessions/no-such-session/rows").status_code == 404
    assert client.get(f"/api/sessions/{BIG}/nothing").status_code == 404
    assert client.get(f"/sessions/{BIG}/nothing/here").status_code == 404
    assert httpx.get(f"{client.base_url}/api/sessions/{BIG}/rows").status_code == 401


def test_ids_with_a_slash_work_on_every_session_route(client) -> None:
    encoded = quote(SLASH, safe="")
    page = client.get(f"/sessions/{encoded}")
    assert page.status_code == 200 and "slashed" in page.text
    assert f'data-api-url="/api/sessions/{encoded}"' in page.text
    rows = _rows(client, SLASH)["rows"]
    assert [r["name"] for r in rows] == ["slashed", "chat gpt-4o", "chat gpt-4o"]
    span = client.get(f"/sessions/{encoded}/spans/{rows[1]['id']}")
    assert span.status_code == 200 and f'data-span="{rows[1]["id"]}"' in span.text
    replay = client.get(f"/sessions/{encoded}/replay")
    assert replay.status_code == 200 and "Step 1 of 2" in replay.text
    listing = client.get("/").text
    assert f'href="/sessions/{encoded}"' in listing  # links keep the "/" encoded
    # the decoded form is another path: the session "team" does not exist
    assert client.get(f"/sessions/{SLASH.split('?')[0]}").status_code == 404


def test_span_urls_take_short_id_prefixes(client, server: Server) -> None:
    session, spans = _demo(server)
    llm = next(s for s in spans if s.agentops_kind == "llm")
    short = client.get(f"/sessions/{session.id[:8]}/spans/{llm.span_id[:6]}")
    assert short.status_code == 200 and f'data-span="{llm.span_id}"' in short.text
    assert client.get(f"/sessions/{session.id[:8]}").status_code == 200
    assert _rows(client, session.id[:8])["total"] == len(spans)
    # "0000000000000" prefixes every span id of the big session: ambiguous, said so
    ambiguous = client.get(f"/sessions/{BIG}/spans/0000000000000")
    assert ambiguous.status_code == 400 and "ambiguous" in ambiguous.text
    assert client.get(f"/sessions/{BIG}/spans/ffff").status_code == 404


def test_running_parents_hold_their_children(client) -> None:
    trace = f"{0x11FE:032x}"
    started = T0 + 10**9

    def send(*spans: dict) -> None:
        assert (
            support.post_json(client, support.json_request(list(spans)), compress=False).status_code
            == 200
        )

    # the session (1) and the agent (2) still run: only the agent's ended calls arrive
    send(_chat(trace, LIVE, 3, 2, started), _chat(trace, LIVE, 4, 2, started + 10**7))
    rows = _rows(client, LIVE)["rows"]
    assert [(r["name"], r["depth"], r["running"]) for r in rows] == [
        (RUNNING_PARENT, 0, True),
        ("chat gpt-4o", 1, False),
        ("chat gpt-4o", 1, False),
    ]
    assert rows[0]["id"] == f"{2:016x}" and rows[0]["duration"].startswith("running · ")
    assert rows[0]["end"] is None
    page = client.get(f"/sessions/{LIVE}").text
    assert re.search(r"<dt>Duration</dt><dd>running · ([\d.,]+ (ms|s)|\d+m\d\ds)</dd>", page)
    agent = {A.SESSION_ID: LIVE, A.SPAN_KIND: A.KIND_AGENT, A.AGENT_NAME: "mailer"}
    send(
        json_span(
            trace,
            2,
            "invoke_agent mailer",
            agent,
            parent=1,
            start_ns=started,
            end_ns=started + 10**8,
        )
    )
    rows = _rows(client, LIVE)["rows"]
    assert [(r["name"], r["depth"]) for r in rows] == [
        (RUNNING_PARENT, 0),  # the session, still running
        ("mailer", 1),
        ("chat gpt-4o", 2),
        ("chat gpt-4o", 2),
    ]
    assert rows[1]["duration"] == "100 ms"
    root = {A.SESSION_ID: LIVE, A.SPAN_KIND: A.KIND_SESSION, A.SESSION_END_STATE: "Success"}
    send(json_span(trace, 1, "session live", root, start_ns=started, end_ns=started + 2 * 10**8))
    rows = _rows(client, LIVE)["rows"]
    assert [r["name"] for r in rows][:2] == ["live", "mailer"] and not any(
        r["running"] for r in rows
    )


# --- the page in Chromium -------------------------------------------------------------------------
_OVERFLOW = """(selectors) => {
  const bad = [];
  for (const selector of selectors) {
    for (const root of document.querySelectorAll(selector)) {
      for (const el of [root, ...root.querySelectorAll("*")]) {
        if (el.closest("[hidden]") || getComputedStyle(el).display === "none") continue;
        const box = el.getBoundingClientRect();
        const parent = el.parentElement.getBoundingClientRect();
        if (box.width === 0) continue;
        if (box.left < parent.left - 1 || box.right > parent.right + 1) {
          bad.push(`${el.tagName}.${el.className} in ${el.parentElement.className}`);
        }
      }
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth) bad.push("page scrolls sideways");
  return bad;
}"""
_CUT = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter((el) => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
  .map((el) => el.textContent)"""


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_waterfall_takes_the_width_and_nothing_overflows(browser, server, size) -> None:
    session, spans = _demo(server)
    context, page = _open(browser, server, *size)
    try:
        page.goto(f"/sessions/{session.id}")
        _loaded(page, len(spans))
        expect(page.locator("#drawer")).to_be_hidden()
        list_width = page.locator("#tree").bounding_box()["width"]
        assert page.locator("#axis").bounding_box()["width"] > 0.5 * list_width
        assert page.locator("#axis .tick").count() >= 3
        assert page.evaluate(_CUT, ".vhead > span") == []  # "Tokens in / out" whole
        assert page.evaluate(_CUT, ".span-name") == []  # error rows too
        error_row = page.locator(f"{ROWS}.error").first
        assert error_row.locator(".span-name").inner_text() in {"summarizer", "chat error-500"}
        selectors = ["#tree-tools", ".vhead", "#tree-body .span-row", "header.top"]
        assert page.evaluate(_OVERFLOW, selectors) == []
        page.locator(ROWS).nth(4).click()  # the drawer narrows the list: still no overflow
        page.locator("#detail section").wait_for()
        assert page.evaluate(_CUT, ".span-name") == []
        assert page.evaluate(_OVERFLOW, [*selectors, "#drawer"]) == []
        page.watch.clean()
    finally:
        context.close()


def _bar(page, index: int) -> dict:
    return page.locator(ROWS).nth(index).locator(".bar").bounding_box()


def test_zoom_by_drag_and_by_the_buttons(page, server: Server) -> None:
    _, spans = _show_demo(page, server)
    axis = page.locator("#axis").bounding_box()
    whole = _bar(page, 0)  # the session root spans the whole axis
    assert whole["width"] > 0.95 * axis["width"]
    last_agent = page.locator(ROWS).nth(len(spans) - 2)  # summarizer: the last 20% or so
    start = last_agent.locator(".bar").bounding_box()["x"]
    assert start > axis["x"] + 0.5 * axis["width"]
    # drag over the first half of the axis: the summarizer's bar leaves the view
    page.mouse.move(axis["x"] + 2, axis["y"] + 10)
    page.mouse.down()
    page.mouse.move(axis["x"] + axis["width"] * 0.3, axis["y"] + 10, steps=4)
    page.mouse.move(axis["x"] + axis["width"] * 0.45, axis["y"] + 10, steps=4)
    page.mouse.up()
    expect(page.locator("#zoom-range")).not_to_have_text("")
    expect(last_agent.locator(".bar")).to_be_hidden()
    zoomed = _bar(page, 2)  # email-assistant, which started at the beginning, now wider
    page.click("#zoom-reset")
    expect(page.locator("#zoom-range")).to_have_text("")
    expect(last_agent.locator(".bar")).to_be_visible()
    assert zoomed["width"] > 1.5 * _bar(page, 2)["width"]
    page.click("#zoom-in")
    expect(page.locator("#zoom-range")).not_to_have_text("")
    page.click("#zoom-out")
    expect(page.locator("#zoom-range")).to_have_text("")  # back to the whole session
    assert page.locator("#drawer").is_hidden()  # zooming opened nothing
    page.watch.clean()


def test_drawer_opens_on_demand_resizes_and_closes(page, server: Server) -> None:
    _, spans = _show_demo(page, server)
    drawer = page.locator("#drawer")
    expect(drawer).to_be_hidden()
    llm = next(s for s in spans if s.agentops_kind == "llm" and s.status_code != "ERROR")
    page.locator(f'{ROWS}[data-span="{llm.span_id}"] .span-name').click()
    section = page.locator(f'#detail section[data-span="{llm.span_id}"]')
    section.wait_for()
    assert section.locator(".msg.role-user").count() >= 1
    expect(page.locator(f'{ROWS}[data-span="{llm.span_id}"]')).to_have_class(re.compile("selected"))
    before = drawer.bounding_box()["width"]
    grip = page.locator("#drawer-grip").bounding_box()
    page.mouse.move(grip["x"] + 3, grip["y"] + 50)
    page.mouse.down()
    page.mouse.move(grip["x"] - 150, grip["y"] + 50, steps=5)
    page.mouse.up()
    wider = drawer.bounding_box()["width"]
    assert wider == pytest.approx(before + 150, abs=8)
    page.locator("#drawer-grip").focus()
    page.keyboard.press("ArrowRight")
    assert drawer.bounding_box()["width"] == pytest.approx(wider - 40, abs=2)
    for _ in range(30):  # down to the narrowest: keys still break only at dots
        page.keyboard.press("ArrowRight")
    assert drawer.bounding_box()["width"] == pytest.approx(260, abs=2)
    segments = page.evaluate(
        "() => Array.from(document.querySelectorAll('#detail .attributes th .seg'))"
        ".map((s) => s.getClientRects().length)"
    )
    assert segments and set(segments) == {1}  # "agentops." "agent." "id" never split inside
    page.click("#drawer-close")
    expect(drawer).to_be_hidden()
    expect(page.locator("#tree-body")).to_be_focused()
    page.watch.clean()


def test_keyboard_only_use(page, server: Server) -> None:
    session, spans = _show_demo(page, server)
    body = page.locator("#tree-body")
    page.locator("#tree-filter").focus()
    for _ in range(12):  # tab on from the filter box: the list is one stop
        if page.evaluate("document.activeElement.id") == "tree-body":
            break
        page.keyboard.press("Tab")
    expect(body).to_be_focused()
    assert body.locator("a, button, input, [tabindex]").count() == 0
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#tree-body')") is None
    body.focus()

    def active() -> str:
        ident = body.get_attribute("aria-activedescendant")
        return page.locator(f"#{ident}").get_attribute("data-span")

    ids = [
        r["id"]
        for r in page.evaluate(
            "async (url) => (await (await fetch(url)).json()).rows",
            f"/api/sessions/{session.id}/rows",
        )
    ]
    assert active() == ids[0]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert active() == ids[2]  # email-assistant (session > workflow > agent)
    page.keyboard.press("ArrowLeft")  # collapse it
    expect(page.locator("#shown-count")).to_have_text(str(len(spans) - 4))
    page.keyboard.press("ArrowLeft")  # to its parent
    assert active() == ids[1]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")  # expand again
    expect(page.locator("#shown-count")).to_have_text(str(len(spans)))
    page.keyboard.press("ArrowRight")  # to its first child
    assert active() == ids[3]
    page.keyboard.press("End")
    assert active() == ids[-1]
    page.keyboard.press("Home")
    assert active() == ids[0]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.locator(f'#detail section[data-span="{ids[1]}"]').wait_for()
    page.keyboard.press("Escape")
    expect(page.locator("#drawer")).to_be_hidden()
    expect(body).to_be_focused()
    page.watch.clean()


def test_filter_box_and_checkboxes(page, server: Server) -> None:
    _, spans = _show_demo(page, server)
    page.check("#only-errors")
    errors = [s for s in spans if s.status_code == "ERROR"]
    expect(page.locator(f"{ROWS}:not(.context)")).to_have_count(len(errors))
    assert all(
        "error" in c
        for c in page.locator(f"{ROWS}:not(.context)").evaluate_all(
            "rows => rows.map(r => r.className)"
        )
    )
    page.uncheck("#only-errors")
    page.check("#only-llm")
    llm = [s for s in spans if s.agentops_kind == "llm"]
    expect(page.locator(f"{ROWS}:not(.context)")).to_have_count(len(llm))
    assert set(page.locator(f"{ROWS}:not(.context) .kind-badge").all_inner_texts()) == {"llm"}
    page.uncheck("#only-llm")
    page.fill("#tree-filter", "CALENDAR")
    expect(page.locator(f"{ROWS}:not(.context) .span-name")).to_have_text(["check_calendar"])
    page.fill("#tree-filter", "no span is called this")
    expect(page.locator("#tree-empty")).to_be_visible()
    expect(page.locator(ROWS)).to_have_count(0)
    page.fill("#tree-filter", "")
    expect(page.locator("#shown-count")).to_have_text(str(len(spans)))
    page.watch.clean()


def test_a_big_session_is_virtualized_and_loaded_as_the_user_scrolls(page) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/sessions/" in r.url else None)
    page.goto(f"/sessions/{BIG}")
    _loaded(page, 1 + BIG_AGENTS * (1 + BIG_CALLS))
    in_dom = page.locator("#tree-body .span-row").count()
    assert 10 < in_dom < 100  # only what the viewport shows, plus a margin
    assert len(asked) == 1 and "/shape" in asked[0]  # the shape and first rows, once
    page.locator("#tree-body").focus()
    page.keyboard.press("End")
    last = page.locator(f"{ROWS}.active")
    expect(last.locator(".span-name")).to_have_text("chat gpt-4o")
    assert len(asked) == 2 and unquote(asked[1]).endswith("-3000")  # the rows at the end
    assert page.locator("#tree-body .span-row").count() < 100
    page.click("#collapse-all")
    expect(page.locator("#shown-count")).to_have_text("1")
    page.locator("#tree-body").focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#shown-count")).to_have_text(str(1 + BIG_AGENTS))
    expect(page.locator(ROWS).nth(BIG_AGENTS).locator(".span-name")).to_have_text("agent-29")
    page.watch.clean()


def test_html_in_rows_and_drawer_stays_text(page) -> None:
    page.goto(f"/sessions/{XSS_SESSION}")
    _loaded(page)
    names = page.locator(f"{ROWS} .span-name").all_inner_texts()
    assert names[0] == SCRIPT and names[1].startswith("chat <img")
    error = page.locator(f"{ROWS} .err-mark").first.get_attribute("title")
    assert error == SCRIPT
    page.locator(ROWS).nth(1).click()
    user = page.locator("#detail .msg.role-user .text")
    user.wait_for()
    assert SCRIPT in user.inner_text()
    for where in ("#tree", "#detail"):
        assert page.locator(f"{where} img, {where} script").count() == 0
    page.watch.clean()


def test_slash_ids_open_from_the_sessions_list(page) -> None:
    page.goto("/")
    page.locator(f'a[href="/sessions/{quote(SLASH, safe="")}"]').first.click()
    _loaded(page, 3)
    expect(page.locator(ROWS).first.locator(".span-name")).to_have_text("slashed")
    page.locator(ROWS).nth(1).click()
    page.locator("#detail section").wait_for()
    page.click("#replay-link")
    expect(page.locator("#position")).to_have_text("Step 1 of 2")
    page.watch.clean()
