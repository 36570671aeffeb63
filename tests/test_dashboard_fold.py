"""The session page folds, unfolds, expands and collapses in the browser (headless Chromium):
the tree's shape comes once (``/api/sessions/ID/shape``), rows' cells by depth-first index
(``/rows?at=``), what a filter matches as runs (``/match``). Every state the page shows is
compared, row by row, with the tree the store holds; no request leaves the page for a fold of
rows it holds; folds work on rows still arriving and survive new spans of a running session."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

import httpx
import pytest
from _dashboard_support import (
    AUTH,
    Server,
    json_request,
    json_span,
    post_json,
    start_server,
    stop_server,
)
from playwright.sync_api import Page, Route, expect
from test_dashboard_browser import _Watch, browser  # noqa: F401 (the Chromium fixture)

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.view._model import build_tree

NESTED = "nested-session"
AGENTS, OPS, CALLS, SUBCALLS = 16, 4, 40, 5
OP_SIZE = 1 + CALLS + 1 + SUBCALLS  # an operation: its calls, then a tool with calls of its own
AGENT_SIZE = 1 + OPS * OP_SIZE
SPANS = 1 + AGENTS * AGENT_SIZE  # 3,025
FAILING = {(3, 2, 7), (11, 2, 7), (5, 1, "sub", 3)}  # (agent, op, call) / a tool's call
LIVE = "live-folds"
T0 = 1_765_000_000 * 10**9
MS = 10**6
ROW_H = 26


def _nested_session() -> list[dict]:
    """A session root, 16 agents of 4 operations; each operation makes 40 calls, then calls a
    tool that makes 5 calls of its own. Starts follow the depth-first order."""
    trace = f"{0xF01D:032x}"
    spans: list[dict] = []
    ids = iter(range(1, 10**6))

    def add(name: str, attrs: dict, parent: int | None, size: int, error: bool = False) -> int:
        span_id, start = next(ids), T0 + len(spans) * MS
        attrs = {A.SESSION_ID: NESTED, **attrs}
        span = json_span(trace, span_id, name, attrs, parent=parent, start_ns=start)
        span["endTimeUnixNano"] = str(start + size * MS + MS // 2)
        if error:
            span["status"] = {"code": "STATUS_CODE_ERROR", "message": "RateLimitError"}
        spans.append(span)
        return span_id

    def call(parent: int, model: str, error: bool) -> None:
        llm = {A.SPAN_KIND: A.KIND_LLM, A.GEN_AI_OPERATION_NAME: A.OP_CHAT}
        add(f"chat {model}", {**llm, A.GEN_AI_REQUEST_MODEL: model}, parent, 1, error)

    root = add("session nested", {A.SPAN_KIND: A.KIND_SESSION}, None, SPANS)
    for a in range(AGENTS):
        agent_attrs = {A.SPAN_KIND: A.KIND_AGENT, A.AGENT_NAME: f"agent-{a:02d}"}
        agent = add(f"invoke_agent agent-{a:02d}", agent_attrs, root, AGENT_SIZE)
        for o in range(OPS):
            op_attrs = {A.SPAN_KIND: A.KIND_OPERATION}
            op = add(f"operation op-{a:02d}-{o}", op_attrs, agent, OP_SIZE)
            for c in range(CALLS):
                call(op, "gpt-4o", (a, o, c) in FAILING)
            tool_attrs = {A.SPAN_KIND: A.KIND_TOOL}
            tool = add(f"execute_tool lookup-{a:02d}-{o}", tool_attrs, op, 1 + SUBCALLS)
            for c in range(SUBCALLS):
                call(tool, "gpt-4o-mini", (a, o, "sub", c) in FAILING)
    assert len(spans) == SPANS
    return spans


@dataclass(frozen=True)
class Row:
    id: str
    depth: int
    size: int  # descendants
    parent: int  # index, -1 for a root
    text: str  # what the text filter searches, lower case
    error: bool


def _store_tree(server: Server, sid: str) -> list[Row]:
    """The session's tree as the store holds it, depth first."""
    with Store.open(server.home) as store:
        session = store.get_session(sid)
        spans = store.session_spans(sid)
    rows: list[Row] = []

    def walk(node, depth: int, parent: int) -> None:
        here = len(rows)
        span = node.span
        text = " ".join((node.label, span.name, node.kind, span.model or "", node.error or ""))
        rows.append(Row(span.span_id, depth, 0, parent, text.lower(), node.error is not None))
        for child in node.children:
            walk(child, depth + 1, here)
        rows[here] = Row(**{**rows[here].__dict__, "size": len(rows) - here - 1})

    for root in build_tree(spans, live=session.running):
        walk(root, 0, -1)
    return rows


def _expected(
    tree: list[Row], folded: bool = False, toggled: Iterable[str] = (), keep: set | None = None
) -> list[tuple[str, int, str | None]]:
    """(span id, aria-level, aria-expanded) of each row shown: rows open unless ``folded``,
    except those in ``toggled``; with ``keep``, only those rows."""
    toggled = set(toggled)
    out, i = [], 0
    while i < len(tree):
        row = tree[i]
        if keep is not None and i not in keep:
            i += 1 + row.size
            continue
        is_open = (row.id in toggled) == folded
        expanded = None if row.size == 0 else str(is_open).lower()
        out.append((row.id, row.depth + 1, expanded))
        i += 1 if row.size == 0 or is_open else 1 + row.size
    return out


def _kept(tree: list[Row], matches) -> set[int]:
    """The rows a filter keeps: its matches and their ancestors."""
    keep: set[int] = set()
    for i, row in enumerate(tree):
        if matches(row):
            j = i
            while j >= 0 and j not in keep:
                keep.add(j)
                j = tree[j].parent
    return keep


def _find(tree: list[Row], text: str) -> Row:
    (row,) = [r for r in tree if r.text.startswith(text + " ")]
    return row


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("fold-home"))
    try:
        with running.client() as client:
            payload = json_request(_nested_session())
            assert post_json(client, payload, compress=True).status_code == 200
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="module")
def tree(server: Server) -> list[Row]:
    rows = _store_tree(server, NESTED)
    assert len(rows) == SPANS and rows[0].size == SPANS - 1
    return rows


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture
def page(browser, server: Server) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(
        base_url=server.url, extra_http_headers=AUTH, viewport={"width": 1280, "height": 1400}
    )
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    opened.watch = _Watch(opened)
    opened.asked = []  # the session API's requests, in order
    opened.on(
        "request", lambda r: opened.asked.append(r.url) if "/api/sessions/" in r.url else None
    )
    yield opened
    context.close()


# Scroll through the whole list, a screen at a time, waiting at each stop for the rows there
# (and no placeholder left); the (span id, aria-level, aria-expanded) of every position.
_WALK = """async () => {
  const body = document.getElementById("tree-body");
  const total = Number(document.getElementById("shown-count").textContent);
  const frame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  const seen = new Map();
  for (let pos = 0; pos < total; ) {
    body.scrollTop = pos * 26;
    const top = Math.floor(body.scrollTop / 26);
    for (let tries = 0; ; tries += 1) {
      await frame();
      const there = body.querySelector(`.span-row[data-pos="${top}"]`);
      if (there && !body.querySelector(".span-row.loading")) break;
      if (tries > 600) throw new Error(`the rows at ${pos} never came`);
    }
    for (const el of body.querySelectorAll(".span-row")) {
      seen.set(Number(el.dataset.pos),
               [el.dataset.span, Number(el.getAttribute("aria-level")),
                el.getAttribute("aria-expanded")]);
    }
    const from = pos;
    while (seen.has(pos)) pos += 1;
    if (pos === from) throw new Error(`no row at ${pos}`);
  }
  body.scrollTop = 0;
  return Array.from({ length: total }, (_, pos) => seen.get(pos));
}"""


def _shows(page: Page, expected: list[tuple[str, int, str | None]]) -> None:
    """The page shows exactly ``expected``, in order."""
    expect(page.locator("#shown-count")).to_have_text(str(len(expected)))
    shown = [tuple(row) for row in page.evaluate(_WALK)]
    assert len(shown) == len(expected)
    wrong = [
        (pos, got, want)
        for pos, (got, want) in enumerate(zip(shown, expected, strict=True))
        if got != want
    ]
    assert wrong == [], wrong[:3]


def _asked_once(page: Page) -> list[int]:
    """The row indices the page asked /rows for: never one it got with the shape (the first
    200), never one twice."""
    asked = []
    for url in page.asked:
        if "/rows?" in url:
            runs = unquote(url).split("at=", 1)[1].split("&")[0]
            for run in runs.split(","):
                first, _, last = run.partition("-")
                asked += range(int(first), int(last or first) + 1)
    assert len(asked) == len(set(asked)) and min(asked, default=200) >= 200
    return asked


def _open(page: Page, sid: str = NESTED) -> None:
    page.goto(f"/sessions/{sid}")
    page.locator("#tree-body .span-row[data-span]").first.wait_for()


def _toggle(page: Page, row: Row) -> None:
    page.locator(f'#tree-body .span-row[data-span="{row.id}"] .toggle').click()


def _active(page: Page) -> str | None:
    ident = page.locator("#tree-body").get_attribute("aria-activedescendant")
    return page.locator(f"#{ident}").get_attribute("data-span")


# --- the JSON the page works from (plain HTTP) ------------------------------------------------
def test_shape_rows_by_index_and_match_runs(client, tree) -> None:
    missing = "ffffffffffffffff"
    shape = client.get(f"/api/sessions/{NESTED}/shape", params={"ids": f"{tree[5].id},{missing}"})
    assert shape.status_code == 200
    body = shape.json()
    assert body["depth"] == [row.depth for row in tree]  # the whole shape, depth first
    assert [r["id"] for r in body["rows"]] == [row.id for row in tree[:200]]  # the first rows
    assert body["found"] == [5, -1] and body["spans"] == SPANS
    assert isinstance(body["marker"], str)  # a marker may be above 2**53: a string for JS
    assert len(shape.content) < 60 * 1024
    marker = body["marker"]
    rows = client.get(
        f"/api/sessions/{NESTED}/rows", params={"marker": marker, "at": "0-2,2900,3024"}
    ).json()["rows"]
    assert [r["id"] for r in rows] == [tree[i].id for i in (0, 1, 2, 2900, 3024)]
    assert rows[3]["name"] and "depth" not in rows[3] and "open" not in rows[3]  # view-free
    errors = client.get(
        f"/api/sessions/{NESTED}/match", params={"marker": marker, "errors": "1"}
    ).json()["match"]
    assert [i for first, last in errors for i in range(first, last + 1)] == [
        i for i, row in enumerate(tree) if row.error
    ]
    llm = client.get(f"/api/sessions/{NESTED}/match", params={"llm": "1"}).json()["match"]
    assert len(llm) == AGENTS * OPS * 2  # runs: an operation's calls, then its tool's calls
    assert sum(last - first + 1 for first, last in llm) == AGENTS * OPS * (CALLS + SUBCALLS)


def test_bad_or_stale_requests_are_refused(client) -> None:
    rows = f"/api/sessions/{NESTED}/rows"
    for at in ("3025", "5-2", "x", "-1", "0-1000", ""):
        assert client.get(rows, params={"at": at}).status_code == 400, at
    assert client.get(rows, params={"at": "0-999"}).status_code == 200  # the most at once
    assert client.get(rows, params={"marker": "soon"}).status_code == 400
    stale = client.get(rows, params={"marker": "1", "at": "0"})  # a tree no longer kept
    assert stale.status_code == 409 and "shape" in stale.json()["error"]
    assert client.get(f"/api/sessions/{NESTED}/match", params={"marker": "1"}).status_code == 409


# --- the page in Chromium ---------------------------------------------------------------------
def test_folds_match_the_store_tree_with_no_request_for_rows_held(page, tree) -> None:
    _open(page)
    assert len(page.asked) == 1 and "/shape" in page.asked[0]
    _shows(page, _expected(tree))  # every row, fetched as the walk scrolls
    assert all("/rows?" in url for url in page.asked[1:]) and len(page.asked) > 2
    held = len(page.asked)  # from here on the page holds every row's cells

    agent0, agent1 = _find(tree, "agent-00"), _find(tree, "agent-01")
    op2 = _find(tree, "op-02-0")
    _toggle(page, agent0)
    _toggle(page, agent1)
    _toggle(page, op2)
    _shows(page, _expected(tree, toggled={agent0.id, agent1.id, op2.id}))
    page.click("#collapse-all")
    _shows(page, _expected(tree, folded=True))
    _toggle(page, tree[0])
    _toggle(page, _find(tree, "agent-03"))
    _shows(page, _expected(tree, folded=True, toggled={tree[0].id, _find(tree, "agent-03").id}))
    page.click("#expand-all")
    _shows(page, _expected(tree))
    _toggle(page, agent0)  # and back
    _toggle(page, agent0)
    _shows(page, _expected(tree))
    assert len(page.asked) == held  # no request for any of it
    assert sorted(_asked_once(page)) == list(range(200, SPANS))
    page.watch.clean()


def test_folds_work_while_rows_are_still_arriving(page, tree) -> None:
    held: list[Route] = []
    holding = True

    def hold(route: Route) -> None:
        if holding:
            held.append(route)
        else:
            route.continue_()

    page.route(lambda url: "/rows?" in url, hold)
    _open(page)
    body = page.locator("#tree-body")
    body.focus()
    page.keyboard.press("End")  # rows the page does not hold: placeholders, a request held
    expect(page.locator("#tree-body .span-row.loading").first).to_be_visible()
    assert len(held) == 1
    last, tool, op = tree[-1], tree[tree[-1].parent], tree[tree[tree[-1].parent].parent]
    assert (last.depth, tool.text.split()[0], op.text.split()[0]) == (4, "lookup-15-3", "op-15-3")
    page.keyboard.press("ArrowLeft")  # to the tool, a placeholder
    active = page.locator("#tree-body .span-row.active")
    expect(active).to_have_class("span-row loading active")
    expect(active).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowLeft")  # folds it
    expect(page.locator("#shown-count")).to_have_text(str(SPANS - SUBCALLS))
    expect(active).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowLeft")  # to the operation
    page.keyboard.press("ArrowLeft")  # folds it
    expect(page.locator("#shown-count")).to_have_text(str(SPANS - SUBCALLS - CALLS - 1))
    expect(active).to_have_attribute("aria-level", str(op.depth + 1))
    assert page.locator("#tree-body .span-row.loading").count() > 0  # still nothing arrived
    assert len(held) == 1  # and no new request for what was asked already
    holding = False
    for route in held:
        route.continue_()
    expect(page.locator("#tree-body .span-row.loading")).to_have_count(0)
    expect(active).to_have_attribute("data-span", op.id)
    _shows(page, _expected(tree, toggled={tool.id, op.id}))
    page.watch.clean()


def test_keyboard_folding(page, tree) -> None:
    _open(page)
    body = page.locator("#tree-body")
    body.focus()
    agent0, op0 = _find(tree, "agent-00"), _find(tree, "op-00-0")
    count = page.locator("#shown-count")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert _active(page) == op0.id
    page.keyboard.press("ArrowLeft")  # folds op-00-0
    expect(count).to_have_text(str(SPANS - op0.size))
    page.keyboard.press("ArrowLeft")  # to agent-00
    assert _active(page) == agent0.id
    page.keyboard.press("ArrowLeft")  # folds agent-00
    expect(count).to_have_text(str(SPANS - agent0.size))
    page.keyboard.press("ArrowRight")  # unfolds it: op-00-0 is still folded
    expect(count).to_have_text(str(SPANS - op0.size))
    page.keyboard.press("ArrowRight")  # to op-00-0
    assert _active(page) == op0.id
    page.keyboard.press("ArrowRight")  # unfolds it
    expect(count).to_have_text(str(SPANS))
    page.keyboard.press("ArrowRight")  # to its first call
    assert _active(page) == tree[3].id
    _toggle(page, agent0)  # a click on a toggle makes its row the active one
    assert _active(page) == agent0.id
    expect(count).to_have_text(str(SPANS - agent0.size))
    page.keyboard.press("Enter")
    page.locator(f'#detail section[data-span="{agent0.id}"]').wait_for()
    page.keyboard.press("Escape")
    expect(body).to_be_focused()
    _asked_once(page)
    page.click("#collapse-all")
    body.focus()
    page.keyboard.press("ArrowRight")  # opens the root
    expect(count).to_have_text(str(1 + AGENTS))
    page.keyboard.press("End")
    page.keyboard.press("ArrowRight")  # opens agent-15, whose cells come from /rows
    expect(count).to_have_text(str(1 + AGENTS + OPS))
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tree-body .span-row.active .span-name")).to_have_text("op-15-0")
    agent15 = _find(tree, "agent-15")
    _shows(page, _expected(tree, folded=True, toggled={tree[0].id, agent15.id}))
    _asked_once(page)
    page.watch.clean()


def test_filters_fold_in_the_page(page, tree) -> None:
    _open(page)
    page.check("#only-errors")
    errors = _kept(tree, lambda row: row.error)
    _shows(page, _expected(tree, keep=errors))
    matches = [u for u in page.asked if "/match?" in u]
    assert len(matches) == 1 and "errors=1" in matches[0]
    context = page.locator("#tree-body .span-row.context .span-name")
    expect(context).to_have_text(
        [
            "nested",
            "agent-03",
            "op-03-2",
            "agent-05",
            "op-05-1",
            "lookup-05-1",
            "agent-11",
            "op-11-2",
        ]
    )
    asked = len(page.asked)
    page.click("#collapse-all")
    _shows(page, _expected(tree, folded=True, keep=errors))
    _toggle(page, tree[0])
    agent5 = _find(tree, "agent-05")
    _toggle(page, agent5)
    _shows(page, _expected(tree, folded=True, toggled={tree[0].id, agent5.id}, keep=errors))
    page.click("#expand-all")
    _shows(page, _expected(tree, keep=errors))
    assert len(page.asked) == asked  # folds under a filter stay in the page
    page.uncheck("#only-errors")
    _shows(page, _expected(tree))
    page.fill("#tree-filter", "LOOKUP-05")
    _shows(page, _expected(tree, keep=_kept(tree, lambda row: "lookup-05" in row.text)))
    expect(page.locator("#tree-body .span-row:not(.context) .span-name")).to_have_text(
        [f"lookup-05-{o}" for o in range(OPS)]
    )
    assert unquote([u for u in page.asked if "/match?" in u][-1]).endswith("q=lookup-05")
    page.watch.clean()


def _live_span(span_id: int, parent: int, name: str, kind: str, start: int) -> dict:
    attrs = {A.SESSION_ID: LIVE, A.SPAN_KIND: kind}
    if kind == A.KIND_LLM:
        attrs |= {A.GEN_AI_OPERATION_NAME: A.OP_CHAT, A.GEN_AI_REQUEST_MODEL: "gpt-4o"}
    return json_span(
        f"{0x11F0:032x}", span_id, name, attrs, parent=parent, start_ns=start, end_ns=start + MS
    )


def test_folds_survive_new_spans_of_a_running_session(page, server, client) -> None:
    def send(*spans: dict) -> None:
        assert post_json(client, json_request(list(spans)), compress=False).status_code == 200

    began = T0 + 10**9
    # the session root (1) still runs; two agents with their calls have ended
    send(
        _live_span(2, 1, "invoke_agent first", A.KIND_AGENT, began),
        *(_live_span(3 + c, 2, "chat gpt-4o", A.KIND_LLM, began + (c + 1) * MS) for c in range(3)),
        _live_span(6, 1, "invoke_agent second", A.KIND_AGENT, began + 10 * MS),
        *(_live_span(7 + c, 6, "chat gpt-4o", A.KIND_LLM, began + (11 + c) * MS) for c in range(2)),
    )
    _open(page, LIVE)
    before = _store_tree(server, LIVE)
    assert len(before) == 8 and before[0].size == 7  # a running stand-in holds both agents
    first = _find(before, "first")
    _shows(page, _expected(before))
    _toggle(page, first)
    _shows(page, _expected(before, toggled={first.id}))
    assert _active(page) == first.id
    send(  # two more calls of the second agent, and an agent that started before the first
        *(_live_span(9 + c, 6, "chat gpt-4o", A.KIND_LLM, began + (20 + c) * MS) for c in range(2)),
        _live_span(11, 1, "invoke_agent early", A.KIND_AGENT, began - 5 * MS),
        _live_span(12, 11, "chat gpt-4o", A.KIND_LLM, began - 4 * MS),
    )
    after = _store_tree(server, LIVE)
    assert len(after) == 12 and _find(after, "early") == after[1]
    # the page polls every 2 s, asks for the shape again with the folded and active span ids
    expect(page.locator("#shown-count")).to_have_text(str(12 - 3), timeout=10_000)
    _shows(page, _expected(after, toggled={first.id}))
    assert _active(page) == first.id  # the active row moved down with it
    reshaped = [unquote(u) for u in page.asked if "/shape" in u]
    assert len(reshaped) >= 2 and reshaped[-1].endswith(f"ids={first.id},{first.id}")
    page.watch.clean()
