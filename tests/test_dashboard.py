"""``agentops-otel serve`` over HTTP: the real server in a subprocess on 127.0.0.1, fed by the real
OTLP exporter (protobuf + gzip), by OTLP/JSON (plain and gzip) and by an ``agentops-otel demo``
session exported as OTLP/JSON; pages and totals compared with what the store holds."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from _dashboard_support import (
    TOKEN,
    UNPRICED_SESSION,
    XSS_SESSION,
    Server,
    json_request,
    json_span,
    post_json,
    run_demo,
    send_foreign_spans,
    start_server,
    stop_server,
    unpriced_request,
)

from agentops_otel import accounting
from agentops_otel import semconv as A
from agentops_otel.dashboard._app import CSP, PAGE_SIZE, TOKEN_COOKIE
from agentops_otel.dashboard._views import CLIP_CHARS, fmt_cost
from agentops_otel.pricing import cost_for
from agentops_otel.store import SCHEMA_VERSION, Store, StoreError, StoreWriter


def _rows(client: httpx.Client, session_id: str) -> list[dict]:
    """Every row of the session page's span list (all expanded), from its JSON endpoint."""
    answer = client.get(f"/api/sessions/{session_id}/rows", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


@pytest.fixture(scope="module")
def demo_request(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_demo(tmp_path_factory.mktemp("demo-source"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_request: dict):
    running = start_server(tmp_path_factory.mktemp("dashboard-home"))
    try:
        send_foreign_spans(running.url)
        with running.client() as client:
            assert post_json(client, demo_request, compress=False).status_code == 200
            assert post_json(client, unpriced_request(), compress=True).status_code == 200
        yield running
    finally:
        stop_server(running)


@pytest.fixture
def client(server: Server):
    with server.client() as c:
        yield c


def _sessions(server: Server) -> dict[str, object]:
    with Store.open(server.home) as store:
        return {s.id: s for s in store.list_sessions(limit=10_000)}


def _demo_id(demo_request: dict) -> str:
    for resource in demo_request["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for kv in span["attributes"]:
                    if kv["key"] == "agentops.session.id":
                        return kv["value"]["stringValue"]
    raise AssertionError("no session id in the demo export")


def test_protobuf_gzip_from_a_foreign_app_is_priced_on_arrival(server: Server, client) -> None:
    sessions = _sessions(server)
    (foreign,) = [s for s in sessions.values() if s.name == "handle request"]
    expected = float(
        cost_for("openai", "gpt-4o-mini", input_tokens=1_000_000, output_tokens=1000).total_usd
    )
    assert expected > 0
    assert foreign.cost_usd == pytest.approx(expected) and foreign.llm_calls == 1
    assert foreign.service == "node-app"
    listing = client.get("/").text
    assert "handle request" in listing and fmt_cost(foreign.cost_usd) in listing
    page = client.get(f"/sessions/{foreign.id}").text
    assert fmt_cost(expected) in page  # the header
    (llm,) = [r for r in _rows(client, foreign.id) if r["name"] == "chat gpt-4o-mini"]
    assert llm["tokens"].startswith("1,000,000") and llm["cost"] == fmt_cost(expected)
    api = client.get("/api/sessions").json()
    assert next(s for s in api if s["id"] == foreign.id)["cost_usd"] == pytest.approx(expected)


def test_demo_session_sent_as_otlp_json_shows_its_whole_tree(
    server: Server, client, demo_request: dict
) -> None:
    sid = _demo_id(demo_request)
    with Store.open(server.home) as store:
        session = store.get_session(sid)
        spans = store.session_spans(sid)
    sent = sum(len(sc["spans"]) for r in demo_request["resourceSpans"] for sc in r["scopeSpans"])
    assert session is not None and len(spans) == sent and session.errors >= 1
    llm_cost = sum(s.cost_usd or 0 for s in spans if s.agentops_kind == "llm")
    assert session.cost_usd == pytest.approx(llm_cost)  # no double count
    page = client.get(f"/sessions/{sid}").text
    rows = {r["id"]: r for r in _rows(client, sid)}
    assert len(rows) == len(spans)
    for span in spans:
        assert rows[span.span_id]["name"] in (span.name, span.name.split(" ", 1)[-1])
    assert fmt_cost(session.cost_usd) in page
    llm = next(s for s in spans if s.agentops_kind == "llm" and s.status_code != "ERROR")
    detail = client.get(f"/sessions/{sid}/spans/{llm.span_id}").text
    assert 'class="msg role-user"' in detail and 'class="msg role-assistant"' in detail
    assert "Raw JSON" in detail and llm.span_id in detail
    replay = client.get(f"/sessions/{sid}/replay").text
    steps = [s for s in spans if s.agentops_kind in ("llm", "tool")]
    assert replay.count('class="step"') == len(steps)
    assert f"Step 1 of {len(steps)}" in replay


def test_gzip_json_with_an_unknown_model_shows_no_price_not_zero(server: Server, client) -> None:
    session = _sessions(server)[UNPRICED_SESSION]
    assert session.llm_calls == 1 and session.input_tokens == 1200
    assert session.end_state == "Fail" and session.tags == ("nightly",)
    with Store.open(server.home) as store:
        llm = next(s for s in store.session_spans(UNPRICED_SESSION) if s.model)
    assert llm.cost_usd is None and llm.agentops_kind == "llm" and llm.kind == "CLIENT"
    assert llm.events[0]["name"] == "retry" and llm.events[0]["attributes"] == {"attempt": 2}
    page = client.get(f"/sessions/{UNPRICED_SESSION}").text
    assert "1 call with no price" in page
    assert [r["cost"] for r in _rows(client, UNPRICED_SESSION) if r["kind"] == "llm"] == [
        "no price"
    ]
    assert "no price" in client.get(f"/sessions/{UNPRICED_SESSION}/spans/{llm.span_id}").text


def test_html_in_names_prompts_and_keys_is_escaped_everywhere(server: Server, client) -> None:
    with Store.open(server.home) as store:
        spans = store.session_spans(XSS_SESSION)
    llm = next(s for s in spans if s.agentops_kind == "llm")
    pages = [
        client.get(p).text
        for p in (
            "/",
            f"/sessions/{XSS_SESSION}",
            f"/sessions/{XSS_SESSION}/spans/{llm.span_id}",
            f"/sessions/{XSS_SESSION}/replay",
            "/overview",
            "/?model=%3Cscript%3E",
        )
    ]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
    listing, session_page, detail, replay = pages[:4]
    assert "&lt;img src=x onerror=alert(&#39;xss-img&#39;)&gt;" in listing  # the session name
    assert "&lt;img src=x onerror=alert(&#39;xss-img&#39;)&gt;" in session_page  # its title
    rows = client.get(f"/api/sessions/{XSS_SESSION}/rows").json()["rows"]
    assert rows[0]["name"] == "<script>alert('xss-script')</script>"  # JSON; set as text
    # prompt text, attribute key, status message: all present as text
    assert detail.count("&lt;script&gt;alert(") >= 3
    key = "&lt;img src=x onerror=alert(&#39;xss-img&#39;)&gt;"
    assert f'<th><span class="seg">{key}</span>' in detail
    assert "Summarise &lt;script&gt;" in replay


class _Tags(HTMLParser):
    """The script sources, on* handler attributes and inline styles of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.handlers: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            self.scripts.append(names.get("src"))
        if tag == "style" or "style" in names:
            self.styles.append(tag)
        self.handlers += [name for name in names if name.startswith("on")]


def test_every_answer_carries_the_csp_and_no_inline_script(
    server: Server, client, demo_request: dict
) -> None:
    sid = _demo_id(demo_request)
    for path in (
        "/",
        f"/sessions/{sid}",
        f"/sessions/{sid}/replay",
        "/overview",
        "/money",
        f"/sessions/{sid}/money",
        f"/compare?a={sid}&b={sid}",
        "/api/sessions",
        "/login",
        "/static/app.js",
        "/nope",
    ):
        response = client.get(path)
        assert response.headers["content-security-policy"] == CSP, path
        assert response.headers["x-content-type-options"] == "nosniff"
        if response.headers["content-type"].startswith("text/html"):
            tags = _Tags()
            tags.feed(response.text)
            # app.js, session.js, the vendored chart library: files of our own origin
            assert tags.scripts and all(src.startswith("/static/") for src in tags.scripts), path
            assert not tags.handlers and not tags.styles, (path, tags.handlers)
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP


def test_token_is_required_for_ingest_pages_and_api(server: Server) -> None:
    with server.client(headers={}) as anonymous:
        assert anonymous.get("/").status_code == 303
        assert anonymous.get("/").headers["location"] == "/login"
        assert anonymous.get("/api/sessions").status_code == 401
        refused = post_json(anonymous, unpriced_request(), compress=False)
        assert refused.status_code == 401
        wrong = {"Authorization": "Bearer not-it"}
        assert anonymous.get("/api/sessions", headers=wrong).status_code == 401
        assert anonymous.post("/login", data={"token": "not-it"}).status_code == 401
        assert TOKEN_COOKIE not in anonymous.cookies
        signed_in = anonymous.post("/login", data={"token": TOKEN})
        cookie = anonymous.cookies.get(TOKEN_COOKIE)
        assert signed_in.status_code == 303 and cookie and TOKEN not in cookie  # derived
        as_bearer = {"Authorization": f"Bearer {cookie}"}
        assert anonymous.get("/api/sessions", headers=as_bearer).status_code == 401
        assert "HttpOnly" in signed_in.headers["set-cookie"]
        assert "samesite=strict" in signed_in.headers["set-cookie"].lower()
        assert anonymous.get("/").status_code == 200  # the cookie now
    with server.client() as bearer:
        assert bearer.get("/api/sessions").status_code == 200


def test_foreign_host_header_is_refused(server: Server, client) -> None:
    assert client.get("/", headers={"Host": "evil.example:7007"}).status_code == 421
    assert client.get("/", headers={"Host": "localhost"}).status_code == 200


def _dump(home: Path) -> list[tuple]:
    """Every row of every table (the full-text index by its own tables: it keeps no text to
    read back, so ``iterdump`` cannot scan it)."""
    conn = sqlite3.connect(home / "traces.db")
    try:
        tables = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
        ).fetchall()
        return [(t, *row) for (t,) in tables for row in conn.execute(f'SELECT * FROM "{t}"')]
    finally:
        conn.close()


def test_get_never_changes_the_store(server: Server, client, demo_request: dict) -> None:
    sid = _demo_id(demo_request)
    before = _dump(server.home)
    with Store.open(server.home) as store:
        span_id = store.session_spans(sid)[0].span_id
    for path in (
        "/",
        "/?before=1:x",
        f"/sessions/{sid}",
        f"/sessions/{sid}/spans/{span_id}",
        f"/sessions/{sid}/replay",
        "/overview?range=30d",
        "/api/sessions",
        "/login",
        "/v1/traces",
        "/v1/traces?x=1",
        "/?q=inbox",
        "/api/changes",
        f"/api/changes?session={sid}",
    ):
        client.get(path)
    assert client.get("/v1/traces").status_code == 405
    assert _dump(server.home) == before


def test_bad_ingest_requests_are_refused_with_a_reason(client) -> None:
    def post(body: bytes, ctype: str, **headers: str) -> httpx.Response:
        return client.post("/v1/traces", content=body, headers={"Content-Type": ctype, **headers})

    assert post(b"{}", "text/plain").status_code == 415
    assert post(b"\xff\xff\xff", "application/x-protobuf").status_code == 400
    assert post(b"{not json", "application/json").status_code == 400
    assert post(b"not gzip", "application/json", **{"Content-Encoding": "gzip"}).status_code == 400
    bad_id = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "1"}]}]}]}
    assert post(json.dumps(bad_id).encode(), "application/json").status_code == 400
    assert post(b"{}", "application/json").status_code == 200  # an empty export is fine


def _many_sessions(count: int) -> dict:
    spans = []
    for i in range(count):
        attrs = [
            {"key": "agentops.session.id", "value": {"stringValue": f"page-{i:03d}"}},
            {"key": "agentops.span.kind", "value": {"stringValue": "llm"}},
            {
                "key": "agentops.session.tags",
                "value": {"arrayValue": {"values": [{"stringValue": f"t{i % 3}"}]}},
            },
            {"key": "gen_ai.request.model", "value": {"stringValue": f"m{i % 2}"}},
            {"key": "agentops.cost.usd", "value": {"doubleValue": i / 100}},
        ]
        start = 1_600_000_000_000_000_000 + (i // 2) * 10**9  # pairs share a start time
        spans.append(
            {
                "traceId": f"{i + 1:032x}",
                "spanId": f"{i + 1:016x}",
                "name": "call",
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + 10**6),
                "attributes": attrs,
            }
        )
    return {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}


def _walk(client, url: str) -> list[str]:
    ids = []
    while url:
        page = client.get(url).text
        ids += re.findall(r'href="/sessions/(page-\d+)"', page)
        found = re.search(r'href="([^"]+)" class="next"', page)
        url = html.unescape(found[1]) if found else ""
    return ids


def test_filters_and_keyset_paging_visit_each_session_once(server: Server, client) -> None:
    count = 2 * PAGE_SIZE + 13
    assert post_json(client, _many_sessions(count), compress=True).status_code == 200
    everything = _walk(client, "/?since=2020-01-01")
    old = [s for s in everything if s.startswith("page-")]
    assert len(old) == len(set(old)) == count
    # newest first; pairs that share a start time come in descending id order
    assert old == [f"page-{i:03d}" for i in reversed(range(count))]
    tagged = _walk(client, "/?tag=t1")
    assert sorted(tagged) == [f"page-{i:03d}" for i in range(count) if i % 3 == 1]
    model = _walk(client, "/?model=m0&min_cost=0.5")
    assert sorted(model) == [f"page-{i:03d}" for i in range(count) if i % 2 == 0 and i >= 50]
    assert client.get("/?min_cost=abc").status_code == 400
    assert client.get("/?since=tomorrowish").status_code == 400
    assert client.get("/?before=garbage").status_code == 400


def test_overview_totals_equal_the_llm_span_costs(server: Server, client) -> None:
    with Store.open(server.home) as store:
        rows = store.usage_over_time(0, 86_400, "model")
        conn = sqlite3.connect(server.home / "traces.db")
        try:
            (total,) = conn.execute(
                "SELECT TOTAL(cost_usd) FROM spans WHERE agentops_kind = 'llm' AND start_ns >= ?",
                (0,),
            ).fetchone()
        finally:
            conn.close()
    assert sum(r.cost_usd for r in rows) == pytest.approx(total) and total > 0
    page = client.get("/overview?range=30d").text
    assert page.count("<figure") == 5 and "Cost by model" in page and "Tokens by agent" in page
    assert "gpt-4o-mini" in page and "email-assistant" in page
    assert client.get("/overview?range=5y").status_code == 400


def test_unknown_session_and_span_are_404(client) -> None:
    assert client.get("/sessions/does-not-exist").status_code == 404
    assert client.get(f"/sessions/{UNPRICED_SESSION}/spans/0000000000000000").status_code == 404


def test_serve_without_a_token_serves_anyone_on_loopback(tmp_path: Path) -> None:
    running = start_server(tmp_path, token=None)
    try:
        with running.client(headers={}) as client:
            assert post_json(client, unpriced_request(), compress=False).status_code == 200
            assert UNPRICED_SESSION in client.get("/").text
    finally:
        stop_server(running)
    assert running.process.returncode is not None


# --- full-text search ---------------------------------------------------------------------------
def _llm(trace: str, sid: str, span_id: int, start_ns: int | None = None, **attrs: object) -> dict:
    return json_span(
        trace,
        span_id,
        "chat",
        {
            A.SESSION_ID: sid,
            A.SPAN_KIND: A.KIND_LLM,
            A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_USAGE_INPUT_TOKENS: 10,
            **attrs,
        },
        start_ns=start_ns,
    )


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


SEARCHABLE = {
    "find-prompt": {
        A.GEN_AI_INPUT_MESSAGES: _messages("user", "Refund policy for Zanzibar? x9 Zürich")
    },
    "find-completion": {A.GEN_AI_OUTPUT_MESSAGES: _messages("assistant", "The QUOKKA smiles")},
    "find-system": {
        A.GEN_AI_SYSTEM_INSTRUCTIONS: json.dumps(
            [{"type": "text", "content": "You are a lighthouse keeper"}]
        )
    },
    "find-tool": {
        A.GEN_AI_TOOL_CALL_ARGUMENTS: '{"city": "Reykjavik"}',
        A.GEN_AI_TOOL_CALL_RESULT: "drizzle and 4 degrees",
    },
    "find-agentops": {A.INPUT: "marmalade sandwich", A.OUTPUT: '{"verdict": "100% ok_done"}'},
    "find-nothing": {},
}


@pytest.fixture(scope="module")
def searchable(server: Server) -> None:
    spans = [
        _llm(f"{i + 1:032x}", sid, 0xABC0 + i, **attrs)
        for i, (sid, attrs) in enumerate(SEARCHABLE.items())
    ]
    # the name of a span is not searched, only its content
    spans.append(_llm(f"{99:032x}", "find-nothing", 0xABCF))
    spans[-1]["name"] = "zanzibar quokka"
    with server.client() as client:
        assert post_json(client, json_request(spans), compress=False).status_code == 200


def _found(client, query: str) -> set[str]:
    response = client.get("/", params={"q": query})
    assert response.status_code == 200, response.text
    listed = set(re.findall(r'href="/sessions/(find-[a-z]+)"', response.text))
    api = client.get("/api/sessions", params={"q": query})
    assert api.status_code == 200, api.text
    assert {s["id"] for s in api.json() if s["id"].startswith("find-")} == listed
    return listed


@pytest.mark.usefixtures("searchable")
def test_search_finds_sessions_by_words_in_prompts_completions_and_tools(client) -> None:
    assert _found(client, "zanzibar") == {"find-prompt"}
    assert _found(client, "ZANZIBAR   refund") == {"find-prompt"}  # every word, any case
    assert _found(client, "zanzibar banana") == set()
    assert _found(client, "quokka") == {"find-completion"}
    assert _found(client, "lighthouse") == {"find-system"}
    assert _found(client, "reykjavik") == {"find-tool"}
    assert _found(client, "drizzle") == {"find-tool"}
    assert _found(client, "marmalade") == {"find-agentops"}
    assert _found(client, "verdict") == set()  # a JSON key, not text
    assert _found(client, "x9") == {"find-prompt"}  # a short word
    assert _found(client, "quok") == {"find-completion"}  # the start of a word
    assert _found(client, "uokk") == set()  # words, not any substring
    assert _found(client, "zurich") == _found(client, "ZÜRICH") == {"find-prompt"}
    assert 'value="ZANZIBAR refund"' in client.get("/?q=ZANZIBAR+refund").text
    assert _found(client, "") >= set(SEARCHABLE)  # no search: everything


@pytest.mark.usefixtures("searchable")
def test_search_input_is_text_never_fts_syntax(client) -> None:
    for query in (
        '"',
        '""',
        '" OR "',
        "NOT",
        "*",
        "NEAR(zanzibar",
        "text:zanzibar",
        "(",
        ")",
        "+",
        "%",
        "\\",
        "'; DROP TABLE spans; --",
    ):
        assert _found(client, query) == set(), query
    # (phrases, prefixes and OR are the search box's own syntax: test_dashboard_search.py)
    # operators are words like any other ("and" in "drizzle and 4", no word starts with "or")
    assert _found(client, "AND") == {"find-tool"}
    assert _found(client, "OR") == set() and _found(client, "FOR") == {"find-prompt"}
    # characters that are not part of a word separate words, whatever the text holds
    for query in ("Zanzibar?", "^zan", "x%", "x_", "{text}: x"):
        assert _found(client, query) == {"find-prompt"}, query
    assert _found(client, "-quokka") == {"find-completion"}
    assert _found(client, "100%") == _found(client, "ok_done") == {"find-agentops"}
    assert _found(client, "_d") == {"find-tool", "find-agentops"}  # drizzle, done


@pytest.mark.usefixtures("searchable")
def test_search_by_common_words_checks_sessions_one_by_one_with_the_same_result(
    server: Server, client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentops_otel.store import _reader

    now = time.time_ns()
    wombats = [
        _llm(
            f"{0xD000 + i:032x}",
            f"wombat-{i}",
            0xD000 + i,
            start_ns=now + i * 10**6,
            **{A.INPUT: "a wombat"},
        )
        for i in range(4)
    ]
    assert post_json(client, json_request(wombats), compress=False).status_code == 200

    queries = (
        "zanzibar",
        "refund zanzibar",
        "and",
        "x9",
        "uokk",
        '" OR "',
        "100%",
        "the",
        "ZÜRICH",
        "zürich refund",
        "Zurich",
        "x_",
        "ok_d",
    )
    with Store.open(server.home) as store:
        collected = {q: [s.id for s in store.list_sessions(q=q, limit=500)] for q in queries}
        # small windows: a page filled by the newest sessions (probed), or not (collected)
        probed = {}
        for window in range(1, len(store.list_sessions(limit=1000))):
            monkeypatch.setattr(_reader, "_PROBE_WINDOW", window)
            for limit in (1, 2):
                probed[window, limit] = {
                    q: [s.id for s in store.list_sessions(q=q, limit=limit)] for q in queries
                }
        paged = [s.id for s in store.list_sessions(q="wombat", limit=2)]  # fills in the window
    for (_window, limit), found in probed.items():
        assert found == {q: ids[:limit] for q, ids in collected.items()}
    assert collected["zanzibar"] == ["find-prompt"]
    assert collected["ZÜRICH"] == collected["zürich refund"] == ["find-prompt"]
    assert collected["Zurich"] == ["find-prompt"] and collected["uokk"] == []
    assert paged == ["wombat-3", "wombat-2"]
    assert "find-tool" in collected["and"] and "find-agentops" not in collected["and"]


@pytest.mark.usefixtures("searchable")
def test_search_keeps_its_words_across_pages(server: Server, client) -> None:
    spans = [
        _llm(
            f"{0xF000 + i:032x}",
            f"page-search-{i:03d}",
            0xF000 + i,
            **{A.INPUT: f"pelican number {i}"},
        )
        for i in range(PAGE_SIZE + 5)
    ]
    assert post_json(client, json_request(spans), compress=True).status_code == 200
    first = client.get("/?q=pelican").text
    assert first.count('class="session-row') == PAGE_SIZE
    next_url = html.unescape(re.search(r'href="([^"]+)" class="next"', first)[1])
    assert "q=pelican" in next_url
    second = client.get(next_url).text
    assert second.count('class="session-row') == 5 and "page-search-" in second


def _downgrade_to_v1(path: Path) -> None:
    """What version 1 wrote: no text index, no hourly roll-up, the old session index, and every
    failed span counted as an error (the demo's one failure counted twice)."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript("""
            DROP TABLE span_text; DROP TABLE text_indexed; DROP TABLE span_pending;
            DROP TABLE usage_hourly;
            DROP INDEX sessions_start_id;
            DROP INDEX sessions_updated; CREATE INDEX sessions_start ON sessions (start_ns);
            UPDATE sessions SET errors = (SELECT COUNT(*) FROM spans
                WHERE spans.session_id = sessions.id AND status_code = 'ERROR');
            UPDATE schema_version SET version = 1;""")
    finally:
        conn.close()


def test_a_version_1_store_stays_readable_and_serve_upgrades_it(
    tmp_path: Path, demo_request: dict
) -> None:
    first = start_server(tmp_path, token=None)
    try:
        with first.client(headers={}) as client:
            assert post_json(client, demo_request, compress=False).status_code == 200
            with Store.open(tmp_path) as store:
                usage = store.usage_over_time(0, 3600, "model")
    finally:
        stop_server(first)
    assert usage
    sid = _demo_id(demo_request)
    db = tmp_path / "traces.db"
    _downgrade_to_v1(db)
    with Store.open(tmp_path) as store:  # readable as it is; search needs the upgrade
        assert [(s.id, s.errors) for s in store.list_sessions()] == [(sid, 2)]
        with pytest.raises(StoreError, match="version"):
            store.list_sessions(q="inbox")
    again = start_server(tmp_path, token=None)  # its writer upgrades the file
    try:
        with again.client(headers={}) as client:
            with Store.open(tmp_path) as store:
                assert store.usage_over_time(0, 3600, "model") == usage
            with sqlite3.connect(db) as conn:
                (version,) = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            assert version == SCHEMA_VERSION == 5
            with Store.open(tmp_path) as store:
                assert store.get_session(sid).errors == 1
            word = _a_prompt_word(tmp_path, sid)
            found = client.get("/api/sessions", params={"q": word}).json()
            assert [s["id"] for s in found] == [sid]
            assert "gpt-4o-mini" in client.get("/overview?range=24h").text
    finally:
        stop_server(again)


def _a_prompt_word(home: Path, sid: str) -> str:
    """A word of the demo session's first prompt (whatever the demo asks)."""
    with Store.open(home) as store:
        llm = next(s for s in store.session_spans(sid) if A.GEN_AI_INPUT_MESSAGES in s.attributes)
    text = json.loads(llm.attributes[A.GEN_AI_INPUT_MESSAGES])[-1]["parts"][0]["content"]
    return max(re.findall(r"[A-Za-z]{5,}", text), key=len)


def test_a_fresh_store_is_searchable_and_rolled_up(tmp_path: Path) -> None:
    StoreWriter(tmp_path / "traces.db").write([])
    with Store.open(tmp_path) as store:
        assert store.list_sessions(q="anything") == []
        assert store.usage_over_time(0, 3600, "agent") == []


# --- roll-ups, long prompts, live markers -----------------------------------------------------
def test_hourly_rollup_equals_the_llm_spans(server: Server) -> None:
    flag = f"CAST(json_extract(attributes, '$.\"{A.COST_UNKNOWN_MODEL}\"') AS TEXT)"
    unpriced = accounting.unpriced_sql("cost_usd", "input_tokens", "output_tokens", flag)
    conn = sqlite3.connect(server.home / "traces.db")
    try:
        by_spans = conn.execute(
            "SELECT start_ns / 3600000000000 * 3600000000000, COALESCE(model, '(unknown)'), "
            "COUNT(*), SUM(status_code = 'ERROR'), TOTAL(input_tokens), TOTAL(output_tokens), "
            f"ROUND(TOTAL(cost_usd), 9), SUM({unpriced}) FROM spans "
            "WHERE agentops_kind = 'llm' GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    finally:
        conn.close()
    with Store.open(server.home) as store:
        rows = store.usage_over_time(0, 3600, "model")
    assert by_spans and [
        (
            r.bucket_ns,
            r.key,
            r.calls,
            r.errors,
            r.input_tokens,
            r.output_tokens,
            round(r.cost_usd, 9),
            r.unpriced,
        )
        for r in rows
    ] == [(b, k, c, e, int(i), int(o), cost, u) for b, k, c, e, i, o, cost, u in by_spans]


def test_a_one_megabyte_prompt_is_cut_with_show_all(server: Server, client) -> None:
    prompt = "tapioca " * 131_072  # 1 MiB
    sent = _llm(
        f"{0xBEEF:032x}",
        "huge-prompt",
        0xBEEF,
        **{A.GEN_AI_INPUT_MESSAGES: _messages("user", prompt)},
    )
    assert post_json(client, json_request([sent]), compress=True).status_code == 200
    url = f"/sessions/huge-prompt/spans/{0xBEEF:016x}"
    cut = client.get(url).text
    assert len(cut) < 8 * CLIP_CHARS and "tapioca" in cut
    assert "show all for the rest" in cut and f'data-url="{url}?full=1"' in cut
    full = client.get(url + "?full=1").text
    assert full.count("tapioca") >= 131_072 and "show all for the rest" not in full
    assert _found(client, "tapioca") == set()  # (not a find-* session)
    assert "huge-prompt" in client.get("/?q=tapioca").text


def test_change_marker_moves_when_spans_arrive(client) -> None:
    before = client.get("/api/changes").json()["marker"]
    running = client.get("/api/changes", params={"session": "live-one"}).json()
    assert running == {"marker": 0, "running": False}  # no such session yet
    child = _llm(f"{0x1111:032x}", "live-one", 0x1112, parent=0x1111)
    assert post_json(client, json_request([child]), compress=False).status_code == 200
    state = client.get("/api/changes", params={"session": "live-one"}).json()
    assert state["running"] is True and state["marker"] > before
    assert client.get("/api/changes").json()["marker"] == state["marker"]
    root = json_span(
        f"{0x1111:032x}",
        0x1111,
        "run",
        {A.SESSION_ID: "live-one", A.SPAN_KIND: A.KIND_SESSION, A.SESSION_END_STATE: "Success"},
    )
    assert post_json(client, json_request([root]), compress=False).status_code == 200
    ended = client.get("/api/changes", params={"session": "live-one"}).json()
    assert ended["running"] is False and ended["marker"] > state["marker"]
    page = client.get("/sessions/live-one").text
    assert f'data-marker="{ended["marker"]}"' in page and 'data-running="false"' in page


def test_retention_drops_the_text_index_and_rollups_of_old_sessions(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from agentops_otel.store import StoreSpanExporter

    def record(retention_days: float, sid: str, age_days: float) -> None:
        provider = TracerProvider()
        provider.add_span_processor(
            SimpleSpanProcessor(StoreSpanExporter(tmp_path / "traces.db", retention_days))
        )
        start = time.time_ns() - int(age_days * 86_400 * 10**9)
        span = provider.get_tracer("t").start_span(
            "chat",
            start_time=start,
            attributes={
                A.SESSION_ID: sid,
                A.SPAN_KIND: A.KIND_LLM,
                A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                A.GEN_AI_USAGE_INPUT_TOKENS: 7,
                A.INPUT: f"prompt of {sid}",
            },
        )
        span.end(start + 10**6)
        provider.shutdown()

    record(0, "ancient", 40)  # 0: keep everything
    record(0, "recent", 1)
    with Store.open(tmp_path) as store:
        assert {s.id for s in store.list_sessions(q="prompt of")} == {"ancient", "recent"}
        assert sum(r.calls for r in store.usage_over_time(0, 3600, "model")) == 2
    record(7, "new", 0)
    with Store.open(tmp_path) as store:
        assert {s.id for s in store.list_sessions(q="prompt of")} == {"recent", "new"}
        assert sum(r.calls for r in store.usage_over_time(0, 3600, "model")) == 2
    with sqlite3.connect(tmp_path / "traces.db") as conn:
        left = {
            word: conn.execute("SELECT COUNT(*) FROM span_text(?)", (word,)).fetchone()[0]
            for word in ("prompt", "ancient", "recent", "new")
        }
    assert left == {"prompt": 2, "ancient": 0, "recent": 1, "new": 1}  # the words left with it


def test_message_text_is_rendered_as_markdown_without_raw_html() -> None:
    from agentops_otel.dashboard._app import _markdown

    html = str(
        _markdown(
            "**bold** and `code`\n\n<script>alert(1)</script> "
            "[link](javascript:alert(1)) <img src=x onerror=alert(1)>"
        )
    )
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "<script" not in html and "<img" not in html and "href=" not in html
    assert "&lt;script&gt;" in html
