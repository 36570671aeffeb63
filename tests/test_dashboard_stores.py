"""The dashboard's pages over every store: the local SQLite store, and ClickHouse as the Collector's
clickhouseexporter writes it (Map mode with text indexes or bloom filters, JSON mode, the older
schema; with and without the sessions view) show the same sessions, trees and numbers from one
data set; ClickHouse is only ever read. The session pages run over every table variant, the
other pages over one table per way of reading (see ``SHAPES``).

Each app is the real ``create_app``: a store path for SQLite, a ``chdb://memory`` URL for
ClickHouse (a second client on the process's one in-memory chDB engine, which holds the data).
Pages are fetched in-process with Starlette's test client on a loopback Host."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from _dashboard_support import IMG, UNPRICED_SESSION, json_request, json_span, unpriced_request
from _stores import (
    CLICKHOUSE_KINDS,
    SHAPES,
    chdb_client,
    clickhouse_store,
    dataset,
    decode,
    demo_spans,
    sqlite_store,
)
from opentelemetry.sdk.trace import ReadableSpan
from starlette.testclient import TestClient

from agentops_otel import semconv as A
from agentops_otel.dashboard._app import PAGE_SIZE, create_app
from agentops_otel.pricing import cost_for
from agentops_otel.store import StoreError
from agentops_otel.testing import clickhouse as exporter

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

STORES = ["sqlite", *SHAPES]
EVERY_STORE = ["sqlite", *sorted(CLICKHOUSE_KINDS)]
LOOPBACK = "http://127.0.0.1"  # the app refuses other Host headers on a loopback bind
IMPLICIT = "f" * 32  # the session without agentops ids: grouped by its trace
HTML_SESSION = "sess-0900"  # HTML in its name, agent and prompt
ESCAPED_IMG = "&lt;img src=x onerror=alert("


# --- the apps -------------------------------------------------------------------------------------
@dataclass
class Board:
    """One dashboard app over one store; ``database`` is where its ClickHouse data is."""

    kind: str
    client: TestClient
    database: str | None = None

    def get(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, (self.kind, path, response.text[:500])
        return response.text

    def json(self, path: str) -> Any:
        response = self.client.get(path)
        assert response.status_code == 200, (self.kind, path, response.text[:500])
        return response.json()


def _clickhouse_board(kind: str, spans: list[ReadableSpan]) -> Board:
    """The spans in a fresh ClickHouse database, and the dashboard over its URL."""
    database = clickhouse_store(kind, spans).where.database
    app = create_app(f"chdb://memory?database={database}")
    return Board(kind, TestClient(app, base_url=LOOPBACK), database)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[ReadableSpan]:
    return demo_spans(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def demo_id(demo: list[ReadableSpan]) -> str:
    (session_id,) = {s.attributes[A.SESSION_ID] for s in demo if A.SESSION_ID in s.attributes}
    return session_id


@pytest.fixture(scope="module")
def spans(demo: list[ReadableSpan]) -> list[ReadableSpan]:
    return demo + dataset()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, spans: list) -> Iterator[Board]:
    """The SQLite dashboard, started before the spans arrive (as ``serve`` is): its writer
    applies the local store's 30-day retention when it starts, so the 2023 session sent
    afterwards stays, as it stays in ClickHouse (whose TTL is the Collector's business)."""
    path = tmp_path_factory.mktemp("sqlite") / "traces.db"
    client = TestClient(create_app(path), base_url=LOOPBACK)
    sqlite_store(path, spans)
    yield Board("sqlite", client)
    client.close()


@pytest.fixture(scope="module")
def boards(reference: Board) -> Iterator[dict[str, Board]]:
    """Every store's app, each built once, when a test first asks for it."""
    built = {"sqlite": reference}
    yield built
    for board in built.values():
        if board is not reference:
            board.client.close()


def _board(boards: dict[str, Board], spans: list[ReadableSpan], kind: str) -> Board:
    if kind not in boards:
        boards[kind] = _clickhouse_board(kind, spans)
    return boards[kind]


@pytest.fixture(params=STORES)
def board(request: pytest.FixtureRequest, boards: dict[str, Board], spans: list) -> Board:
    return _board(boards, spans, request.param)


@pytest.fixture(params=EVERY_STORE)
def any_board(request: pytest.FixtureRequest, boards: dict[str, Board], spans: list) -> Board:
    """Every table variant: for the session pages, whose reads depend on the indexes."""
    return _board(boards, spans, request.param)


@pytest.fixture(params=SHAPES)
def clickhouse(request: pytest.FixtureRequest, boards: dict[str, Board], spans: list) -> Board:
    return _board(boards, spans, request.param)


# --- reading pages --------------------------------------------------------------------------------
@dataclass
class Row:
    """A body row of a table: its table's class, the row's attributes, its cells' text and the
    links in it (compared whole between stores)."""

    table: str
    attrs: dict[str, str]
    cells: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


class Page(HTMLParser):
    """What a page shows as text: its table body rows, its facts (``<dt>`` → ``<dd>``) and its
    headings; entities are decoded, whitespace is collapsed."""

    _TEXT = frozenset({"td", "th", "dt", "dd", "h1", "h2", "h3"})

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self.facts: dict[str, str] = {}
        self.headings: list[str] = []
        self._tables: list[str] = []
        self._row: Row | None = None
        self._head = False
        self._open: list[tuple[str, list[str]]] = []  # text elements being read
        self._term = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "table":
            self._tables.append(named.get("class", ""))
        elif tag == "thead":
            self._head = True
        elif tag == "tr":
            self._row = None if self._head else Row(self._tables[-1], named)
            if self._row is not None:
                self.rows.append(self._row)
        elif tag == "a" and self._row is not None and "href" in named:
            self._row.links.append(named["href"])
        if tag in self._TEXT:
            self._open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._tables.pop()
            self._row = None
        elif tag == "thead":
            self._head = False
        if not self._open or self._open[-1][0] != tag:
            return
        text = " ".join(" ".join(self._open.pop()[1]).split())
        if tag in ("td", "th"):
            if self._row is not None:
                self._row.cells.append(text)
        elif tag == "dt":
            self._term = text
        elif tag == "dd":
            self.facts[self._term] = text
        else:
            self.headings.append(text)

    def handle_data(self, data: str) -> None:
        for _, parts in self._open:
            parts.append(data)

    def table(self, cls: str) -> list[Row]:
        """The body rows of the tables of class ``cls``."""
        return [row for row in self.rows if cls in row.table.split()]


def _session_ids(html: str) -> list[str]:
    """The sessions a listing page links to, in order."""
    return [row.links[0].removeprefix("/sessions/") for row in Page(html).table("sessions")]


def _next_link(html: str) -> str | None:
    found = re.search(r'href="([^"]+)" class="next"', html)
    return found[1].replace("&amp;", "&") if found else None


def _money(text: str) -> float:
    """The first dollar amount in ``text``."""
    found = re.search(r"\$([\d,]+(?:\.\d+)?)", text)
    assert found, text
    return float(found[1].replace(",", ""))


def _without_money(text: str) -> str:
    return re.sub(r"\$[\d,]+(?:\.\d+)?", "$", text)


def _same_values(found: str, expected: str) -> bool:
    """Attribute values as shown; Map mode types a number by its key (``0`` shows as ``0.0``)."""
    if found == expected:
        return True
    try:
        return float(found) == float(expected)
    except ValueError:
        return False


def _session_of(span: ReadableSpan) -> str:
    return str(span.attributes.get(A.SESSION_ID) or f"{span.context.trace_id:032x}")


def _span_ids(spans: list[ReadableSpan], session_id: str) -> set[str]:
    return {f"{s.context.span_id:016x}" for s in spans if _session_of(s) == session_id}


# --- the sessions page ----------------------------------------------------------------------------
def test_sessions_page_lists_the_same_sessions_and_numbers(
    any_board: Board, reference: Board
) -> None:
    board = any_board
    listing = board.get("/")
    expected, found = Page(reference.get("/")), Page(listing)
    assert found.table("sessions") == expected.table("sessions")
    # cells: started, id, name, tags, state, duration, calls, tokens, cost, errors, flags
    rows = {row.links[0].removeprefix("/sessions/"): row.cells for row in found.table("sessions")}
    assert len(rows) == PAGE_SIZE
    priced = float(
        cost_for("openai", "gpt-4o", input_tokens=1_000_000, output_tokens=1000).total_usd
    )
    implicit = rows[IMPLICIT]  # sent without a price: priced by the store
    assert implicit[2] == "handle request" and implicit[7] == "1,000,000 / 1,000"
    assert _money(implicit[8]) == pytest.approx(priced, abs=1e-4)
    assert rows["sess-0007"][4] == "running" and rows["sess-0001"][3] == "adhoc eu"
    assert rows[HTML_SESSION][2] == IMG  # the text, escaped in the HTML
    api, api_expected = board.json("/api/sessions"), reference.json("/api/sessions")
    assert [s["id"] for s in api] == _session_ids(listing)
    assert [{**s, "cost_usd": 0} for s in api] == [{**s, "cost_usd": 0} for s in api_expected]
    assert [s["cost_usd"] for s in api] == pytest.approx([s["cost_usd"] for s in api_expected])


# each filter once (a ClickHouse listing with few matches reads every look-back window, ~1 s)
FILTERS = [
    "tag=nightly",
    "state=running",
    "agent=writer",
    "min_cost=0.004",
    "since=36h",
    "q=REFUND+invoice+12",
    "q=nowhere-to-be-found",
    "tag=adhoc&model=gpt-4o&state=FAIL",
]


@pytest.mark.parametrize("query", FILTERS)
def test_filters_keep_the_same_sessions(board: Board, reference: Board, query: str) -> None:
    expected = _session_ids(reference.get(f"/?{query}"))
    assert _session_ids(board.get(f"/?{query}")) == expected
    assert [s["id"] for s in board.json(f"/api/sessions?{query}")] == expected
    assert bool(expected) == ("nowhere" not in query), expected  # the data set has them all


@pytest.mark.parametrize("query", ["", "q=answer", "min_cost=0.00001"])
def test_next_links_visit_each_session_once_in_the_same_order(
    board: Board, reference: Board, query: str
) -> None:
    def walk(on: Board) -> list[str]:
        seen: list[str] = []
        url: str | None = f"/?{query}"
        while url and len(seen) < 1000:
            page = on.get(url)
            seen += _session_ids(page)
            url = _next_link(page)
        return seen

    expected = walk(reference)
    found = walk(board)
    assert found == expected
    assert len(set(found)) == len(found) > PAGE_SIZE  # more than one page, no repeats


# --- one session ----------------------------------------------------------------------------------
def _tree(board: Board, session_id: str) -> list[dict]:
    """The session page's span list, every row (from its JSON rows endpoint)."""
    return board.json(f"/api/sessions/{session_id}/rows?limit=1000")["rows"]


SESSIONS = ["demo", IMPLICIT, UNPRICED_SESSION, HTML_SESSION]


@pytest.mark.parametrize("which", SESSIONS)
def test_session_page_shows_the_same_tree_and_breakdowns(
    any_board: Board, reference: Board, spans: list, demo_id: str, which: str
) -> None:
    board = any_board
    session_id = demo_id if which == "demo" else which
    expected = Page(reference.get(f"/sessions/{session_id}"))
    found = Page(board.get(f"/sessions/{session_id}"))
    tree = _tree(board, session_id)
    assert tree == _tree(reference, session_id)  # span names in order, kinds, tokens, costs
    assert found.table("breakdown") == expected.table("breakdown")  # per agent, per model
    assert found.facts == expected.facts  # the totals, with the count of unpriced calls
    assert {row["id"] for row in tree} == _span_ids(spans, session_id)
    unpriced = sum(1 for row in tree if row["kind"] == "llm" and row["cost"] == "no price")
    assert (f"{unpriced} call" in found.facts["Cost"]) == (unpriced > 0)
    if which != "demo":
        assert unpriced == (which == UNPRICED_SESSION)
    assert found.table("breakdown") and session_id in found.headings[0]


def test_a_prefix_resolves_and_unknown_ids_are_404(any_board: Board, demo_id: str) -> None:
    board = any_board
    assert demo_id in Page(board.get(f"/sessions/{demo_id[:10]}")).headings[0]
    assert HTML_SESSION in Page(board.get("/sessions/sess-09")).headings[0]
    assert "ambiguous" in board.get("/sessions/sess-00", 404)
    assert "no session matches" in board.get("/sessions/zzz", 404)
    assert "no session matches" in board.get("/sessions/zzz/replay", 404)
    assert "no such span" in board.get(f"/sessions/{demo_id}/spans/{'0' * 16}", 404)


def _detail_head(html: str) -> str:
    """The span panel down to its attributes: facts, status, messages or tool payloads."""
    start = html.index('<section class="span-detail"')
    return html[start : html.index("<h3>Attributes</h3>", start)]


def test_span_detail_shows_the_same_messages_and_attributes(
    board: Board, reference: Board, demo_id: str
) -> None:
    llm = [row["id"] for row in _tree(reference, demo_id) if row["kind"] == "llm"]
    assert len(llm) >= 2
    for span_id in llm[:2]:
        path = f"/sessions/{demo_id}/spans/{span_id}"
        expected, found = reference.get(path), board.get(path)
        assert 'class="msg role-user"' in found and 'class="msg role-assistant"' in found
        assert _detail_head(found) == _detail_head(expected)
        attributes = Page(found).table("attributes")
        expected_attributes = Page(expected).table("attributes")
        keys = [row.cells[0].replace(". ", ".") for row in attributes]  # one text per segment
        assert keys == [row.cells[0].replace(". ", ".") for row in expected_attributes]
        assert all(
            _same_values(a.cells[1], b.cells[1])
            for a, b in zip(attributes, expected_attributes, strict=True)
        ), attributes
        assert A.GEN_AI_INPUT_MESSAGES in keys and A.GEN_AI_REQUEST_MODEL in keys


def test_html_in_names_and_prompts_is_escaped(board: Board, spans: list) -> None:
    ids = sorted(_span_ids(spans, HTML_SESSION))
    pages = {
        path: board.get(path)
        for path in (
            "/",
            f"/?agent={quote(IMG)}",
            f"/sessions/{HTML_SESSION}",
            f"/sessions/{HTML_SESSION}/replay",
            *(f"/sessions/{HTML_SESSION}/spans/{span_id}" for span_id in ids),
        )
    }
    for path, page in pages.items():
        assert "<img" not in page.lower(), path
        assert ESCAPED_IMG in page, path  # the name, the agent or the prompt, shown as text
    prompt = pages[f"/sessions/{HTML_SESSION}/replay"]
    assert "Summarise &lt;img src=x" in prompt


# --- replay and overview --------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["demo", UNPRICED_SESSION, HTML_SESSION])
def test_replay_has_the_same_steps(
    any_board: Board, reference: Board, demo_id: str, which: str
) -> None:
    board = any_board
    session_id = demo_id if which == "demo" else which
    expected = reference.get(f"/sessions/{session_id}/replay")
    found = board.get(f"/sessions/{session_id}/replay")
    steps = found.count('class="step"')
    assert steps == expected.count('class="step"') and steps >= 1
    assert f"Step 1 of {steps}" in found
    assert Page(found).headings == Page(expected).headings  # each step's kind and span name


@pytest.mark.parametrize("chosen", ["24h", "7d", "30d"])
def test_overview_totals_are_the_same(board: Board, reference: Board, chosen: str) -> None:
    expected = Page(reference.get(f"/overview?range={chosen}"))
    found = Page(board.get(f"/overview?range={chosen}"))
    costs = [_money(found.facts["Cost"]), _money(expected.facts["Cost"])]
    assert costs[0] == pytest.approx(costs[1], abs=1e-4) and costs[0] > 2.5  # "handle request"
    assert {k: _without_money(v) for k, v in found.facts.items()} == {
        k: _without_money(v) for k, v in expected.facts.items()
    }
    assert found.table("rates") == expected.table("rates")  # sessions per hour or day
    assert int(found.facts["LLM calls"]) > 0 and int(found.facts["Sessions"]) > 0


# --- ClickHouse: live markers, read-only, refused URLs -------------------------------------------
def _live_spans(*, ended: bool) -> list[ReadableSpan]:
    """Session ``live``: an LLM call and a tool call while it runs; its root span when it ends."""

    def span(span_id: int, name: str, attrs: dict[str, Any]) -> dict[str, Any]:
        return json_span(
            "b" * 32,
            span_id,
            name,
            {A.SESSION_ID: "live", **attrs},
            parent=None if span_id == 1 else 1,
        )

    sent = (
        [span(1, "session live", {A.SPAN_KIND: A.KIND_SESSION, A.SESSION_END_STATE: "Success"})]
        if ended
        else [
            span(
                2,
                "chat gpt-4o",
                {
                    A.SPAN_KIND: A.KIND_LLM,
                    A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                    A.GEN_AI_USAGE_INPUT_TOKENS: 10,
                },
            ),
            span(3, "tool search", {A.SPAN_KIND: A.KIND_TOOL}),
        ]
    )
    return decode(json_request(sent))


@pytest.mark.parametrize("kind", SHAPES)
def test_change_markers_move_when_the_collector_inserts(kind: str) -> None:
    """A small store of its own: the markers count spans, the session stops running."""
    database = clickhouse_store(kind, _live_spans(ended=False)).where.database
    with TestClient(create_app(f"chdb://memory?database={database}"), base_url=LOOPBACK) as client:
        assert client.get("/api/changes").json() == {"marker": 2}
        assert client.get("/api/changes?session=live").json() == {"marker": 2, "running": True}
        assert 'data-marker="2"' in client.get("/").text
        exporter.insert(
            chdb_client(), database, _live_spans(ended=True), mode=CLICKHOUSE_KINDS[kind][0]
        )
        assert client.get("/api/changes").json() == {"marker": 3}
        assert client.get("/api/changes?session=live").json() == {"marker": 3, "running": False}
        assert client.get("/api/changes?session=nope").json() == {"marker": 0, "running": False}
        assert 'data-running="false"' in client.get("/sessions/live").text


def _tables(database: str) -> list[tuple[Any, ...]]:
    """The database's tables with their engines and row counts."""
    return (
        chdb_client()
        .query(
            "SELECT name, engine, total_rows FROM system.tables WHERE database = {db:String} "
            "ORDER BY name",
            parameters={"db": database},
        )
        .result_rows
    )


def test_clickhouse_is_only_read(clickhouse: Board, demo_id: str) -> None:
    """Ingest is refused with a pointer to the Collector; pages change no table."""
    assert clickhouse.database is not None
    before = _tables(clickhouse.database)
    assert any(rows for _, _, rows in before)
    refused = clickhouse.client.post("/v1/traces", json=unpriced_request())
    assert refused.status_code == 405
    assert "send OTLP to your OpenTelemetry Collector" in refused.json()["error"]
    for path in (
        "/",
        "/?q=refund",
        f"/sessions/{demo_id}",
        f"/sessions/{demo_id}/replay",
        "/overview?range=30d",
        "/api/sessions",
        "/api/changes",
        f"/api/changes?session={demo_id}",
    ):
        clickhouse.get(path)
    assert clickhouse.client.get("/v1/traces").status_code == 405
    assert _tables(clickhouse.database) == before


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ({"store": "chdb://memory?database=no_such_db"}, "cannot read chdb://memory no_such_db"),
        ({"store": "chdb://memory", "database": "system", "table": "missing"}, "cannot read"),
        (
            {"store": "chdb://memory", "database": "system", "table": "one"},
            "not a table written by the OpenTelemetry Collector's ClickHouse exporter",
        ),
        ({"store": "http://me:pw@127.0.0.1:{port}/otel"}, "cannot connect to http://me:***@"),
    ],
    ids=["no-database", "no-table", "not-the-exporters", "no-server"],
)
def test_an_unreadable_clickhouse_url_is_a_store_error(
    where: dict[str, str], says: str, closed_port: int
) -> None:
    store = where["store"].format(port=closed_port)
    with pytest.raises(StoreError) as refused:
        create_app(store, database=where.get("database"), table=where.get("table"))
    message = str(refused.value)  # one line, no driver traceback, no password
    assert says in message and ":pw@" not in message
    assert refused.value.__cause__ is None and "\n" not in message
