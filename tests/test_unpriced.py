"""One "no price" rule (``accounting.unpriced``) everywhere: one session of model calls that
should and should not count as unpriced reads the same count in the rows and the tree, the
local store's hourly roll-up (as written, and as recounted by the version-4 migration of a file
written by version 3), ClickHouse's overview and trees, the CLI's tree and the dashboard's
overview, session and money pages.

The ClickHouse cases (in-process chDB, as ``tests/_stores.py`` writes the Collector's tables)
have "clickhouse" in their names: they run in the ``main-clickhouse`` environment."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _dashboard_support import json_request, json_span
from _stores import SHAPES, clickhouse_store, decode, sqlite_store
from opentelemetry.sdk.trace import ReadableSpan
from starlette.testclient import TestClient

from agentops_otel import accounting
from agentops_otel import semconv as A
from agentops_otel.dashboard._app import create_app
from agentops_otel.store import Store, StoreReader, StoreWriter
from agentops_otel.store._db import SCHEMA_VERSION
from agentops_otel.view import _format
from agentops_otel.view._model import Node, build_tree

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SESSION = "unpriced-rule"
TRACE = "7" * 32
KNOWN, UNKNOWN = "gpt-4o-mini", "mystery-model-x"
# (name, model, usage, failed, extra attributes, unpriced by the rule)
CALLS: list[tuple[str, str, dict[str, Any], bool, dict[str, Any], bool]] = [
    ("failed, no tokens", KNOWN, {}, True, {}, False),
    ("failed, tokens", UNKNOWN, {"in": 40, "out": 0}, True, {}, True),
    ("unknown model, tokens", UNKNOWN, {"in": 120, "out": 30}, False, {}, True),
    ("unknown model, no tokens", UNKNOWN, {}, False, {}, False),
    ("unknown model, nothing used", UNKNOWN, {"in": 0, "out": 0}, True, {}, False),
    (  # our GenAI helper's flag: the model has no price, whatever was used
        "unknown model, flagged",
        UNKNOWN,
        {"in": 0, "out": 0},
        False,
        {A.COST_UNKNOWN_MODEL: True},
        True,
    ),
    ("tokens sent as text", UNKNOWN, {"in": "40", "out": "2"}, False, {}, True),
    ("invalid usage", UNKNOWN, {"in": 50, "out": -1}, False, {}, False),  # flagged, not summed
    ("priced by the sender", KNOWN, {"in": 100, "out": 10}, False, {A.COST_USD: 0.0002}, False),
    ("priced by the store", KNOWN, {"in": 100, "out": 10}, False, {}, False),
]
EXPECTED = sum(call[-1] for call in CALLS)
LLM_CALLS = len(CALLS)
LOOPBACK = "http://127.0.0.1"


def _spans(now: int) -> list[ReadableSpan]:
    """The session: its root, an agent, a tool with no cost, and :data:`CALLS` (each 10 ms)."""
    start = now - 30 * 60 * 10**9  # within the last hour: every overview range holds it
    base = {A.SESSION_ID: SESSION}
    agent = {**base, A.AGENT_NAME: "pricer"}
    made = [
        (1, "session unpriced", {**base, A.SPAN_KIND: A.KIND_SESSION}, None, False),
        (2, "invoke_agent pricer", {**agent, A.SPAN_KIND: A.KIND_AGENT}, 1, False),
        (3, "execute_tool lookup", {**agent, A.SPAN_KIND: A.KIND_TOOL}, 2, False),  # no cost
    ]
    for number, (name, model, usage, failed, extra, _) in enumerate(CALLS, 10):
        attrs = {
            **agent,
            A.SPAN_KIND: A.KIND_LLM,
            A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
            A.GEN_AI_PROVIDER_NAME: "openai",
            A.GEN_AI_REQUEST_MODEL: model,
            **extra,
        }
        if usage:
            attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = usage["in"]
            attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = usage["out"]
        made.append((number, f"chat {name}", attrs, 2, failed))
    spans = []
    for number, name, attrs, parent, failed in made:
        end = start + (number + 1) * 10**7 if parent == 2 else start + 10**9
        span = json_span(TRACE, number, name, attrs, parent, start + number * 10**7, end)
        if failed:
            span["status"] = {"code": "STATUS_CODE_ERROR", "message": "upstream 500"}
        spans.append(span)
    return decode(json_request(spans))


@pytest.fixture(scope="module")
def spans() -> list[ReadableSpan]:
    return _spans(time.time_ns())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, spans: list[ReadableSpan]) -> Path:
    home = tmp_path_factory.mktemp("unpriced")
    sqlite_store(home / "traces.db", spans)
    return home


def _walk(nodes: list[Node]) -> list[Node]:
    return [n for node in nodes for n in (node, *_walk(node.children))]


def _tree_unpriced(store: StoreReader) -> dict[str, bool]:
    """Each LLM call's name and whether its row in the tree reads "no price"."""
    nodes = _walk(build_tree(store.session_spans(SESSION)))
    assert len(nodes) == 3 + LLM_CALLS
    assert all(n.cost_text != _format.NO_PRICE for n in nodes if not n.is_llm)
    return {
        n.span.name.removeprefix("chat "): n.cost_text == _format.NO_PRICE
        for n in nodes
        if n.is_llm
    }


def _overview_unpriced(store: StoreReader, by: str) -> tuple[int, int]:
    """(LLM calls, unpriced calls) of the overview's roll-up over the last day."""
    rows = store.usage_over_time(time.time() - 86_400, 3600, by)
    return sum(r.calls for r in rows), sum(r.unpriced for r in rows)


def _check_store(store: StoreReader) -> None:
    expected = {name: unpriced for name, *_, unpriced in CALLS}
    assert _tree_unpriced(store) == expected
    for by in ("model", "agent"):
        assert _overview_unpriced(store, by) == (LLM_CALLS, EXPECTED), by


def _check_pages(client: TestClient) -> None:
    """The dashboard's overview, session and money pages say "N ... with no price"."""
    overview = client.get("/overview?range=24h")
    assert overview.status_code == 200, overview.text[:500]
    assert f"{EXPECTED} with no price" in overview.text
    session = client.get(f"/sessions/{SESSION}").text
    assert f"{EXPECTED} calls with no price" in session
    money = client.get(f"/sessions/{SESSION}/money").text
    assert f"{EXPECTED} with no price" in money


def test_the_python_and_sql_rules_are_one_rule() -> None:
    """accounting.unpriced and accounting.unpriced_sql agree on every case (SQLite runs it)."""
    conn = sqlite3.connect(":memory:")
    cases = [
        (cost, inp, out, flag)
        for cost in (None, 0.0, 0.001)
        for inp in (None, 0, 5)
        for out in (None, 0, 7)
        for flag in (None, True, False, "true", "1", "false", 1, 0)
    ]
    sql = accounting.unpriced_sql("?", "?", "?", "CAST(? AS TEXT)")
    for cost, inp, out, flag in cases:
        usage = None if inp is None and out is None else accounting.Usage(inp or 0, out or 0)
        attrs = {} if flag is None else {A.COST_UNKNOWN_MODEL: flag}
        expected = accounting.unpriced(cost, usage, attrs)
        (found,) = conn.execute(f"SELECT {sql}", (cost, inp, out, flag)).fetchone()
        assert bool(found) == expected, (cost, inp, out, flag)
    assert accounting.unpriced(None, accounting.Usage(0, 3), {})
    assert not accounting.unpriced(None, accounting.Usage(0, 0), {})
    assert not accounting.unpriced(0.0, accounting.Usage(9, 9), {A.COST_UNKNOWN_MODEL: True})


def test_the_rows_tree_and_local_store_roll_up_count_the_same(home: Path) -> None:
    with Store.open(home) as store:
        _check_store(store)


def test_the_dashboard_pages_count_the_same(home: Path) -> None:
    with TestClient(create_app(home / "traces.db"), base_url=LOOPBACK) as client:
        _check_pages(client)


def test_the_cli_tree_marks_the_same_calls(home: Path) -> None:
    env = {"AGENTOPS_OTEL_HOME": str(home), "COLUMNS": "250", "NO_COLOR": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "agentops_otel.cli", "show", SESSION],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    marked = [
        name
        for name, *_ in CALLS
        if re.search(rf"chat {re.escape(name)}\b.*{_format.NO_PRICE}", out.stdout)
    ]
    assert marked == [name for name, *_, unpriced in CALLS if unpriced], out.stdout
    assert out.stdout.count(_format.NO_PRICE) == EXPECTED


def _as_version_3(path: Path) -> int:
    """Turn the store into what version 3 wrote: every LLM call with no cost counted unpriced
    in the hourly roll-up. Returns that old count."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("""
                UPDATE usage_hourly SET unpriced = (
                    SELECT COUNT(*) FROM spans WHERE agentops_kind = 'llm'
                    AND cost_usd IS NULL
                    AND start_ns / 3600000000000 * 3600000000000 = usage_hourly.hour_ns
                    AND COALESCE(model, '(unknown)') = usage_hourly.model
                    AND json_extract(attributes, '$."agentops.agent.name"') = usage_hourly.agent)
            """)
            conn.execute("UPDATE schema_version SET version = 3")
        return conn.execute("SELECT SUM(unpriced) FROM usage_hourly").fetchone()[0]
    finally:
        conn.close()


def test_a_version_3_store_is_recounted_when_opened_for_writing(
    tmp_path: Path, spans: list[ReadableSpan]
) -> None:
    path = sqlite_store(tmp_path / "traces.db", spans)
    old = _as_version_3(path)
    assert old == 8 > EXPECTED  # every call with no cost: those that used nothing too
    with Store.open(tmp_path) as store:  # readable as it is, with the old count
        assert _overview_unpriced(store, "model") == (LLM_CALLS, old)
    writer = StoreWriter(path)  # upgrades the file when it opens it, on its first write
    assert writer.write(spans) == 0  # all stored already: nothing counted twice
    writer.close()
    with sqlite3.connect(path) as conn:
        (version,) = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    assert version == SCHEMA_VERSION >= 4
    with Store.open(tmp_path) as store:
        _check_store(store)
    with TestClient(create_app(path), base_url=LOOPBACK) as client:
        _check_pages(client)


@pytest.mark.parametrize("kind", SHAPES)
def test_clickhouse_counts_the_same(kind: str, spans: list[ReadableSpan], home: Path) -> None:
    store = clickhouse_store(kind, spans)
    _check_store(store)
    with Store.open(home) as local:  # the session's cost, with the call priced at read time
        expected = local.get_session(SESSION)
    assert expected is not None and expected.cost_usd > 0.0002
    found = store.list_sessions(min_cost=expected.cost_usd * 0.999)
    assert [(s.id, s.llm_calls) for s in found] == [(SESSION, LLM_CALLS)]
    assert found[0].cost_usd == pytest.approx(expected.cost_usd)
    app = create_app(f"chdb://memory?database={store.where.database}")
    with TestClient(app, base_url=LOOPBACK) as client:
        _check_pages(client)
