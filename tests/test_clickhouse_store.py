"""The ClickHouse store answers every query with the same rows and numbers as the local store,
over the exact tables the Collector's clickhouseexporter creates (Map mode with text indexes or
bloom filters, JSON mode, the older schema; with and without the sessions view), in-process on
chDB through clickhouse-connect."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _dashboard_support import ROOT, json_request, json_span
from _stores import (
    CLICKHOUSE_KINDS,
    DAY_NS,
    SHAPES,
    chdb_client,
    clickhouse_store,
    dataset,
    decode,
    demo_spans,
    sqlite_store,
)

from agentops_otel import semconv as A
from agentops_otel.store import SessionRow, SpanRow, Store, StoreError
from agentops_otel.store._clickhouse import ClickHouseStore, Location, views_ddl
from agentops_otel.testing import clickhouse as exporter

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def spans(tmp_path_factory: pytest.TempPathFactory) -> list:
    return demo_spans(tmp_path_factory.mktemp("demo")) + dataset()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, spans: list):
    path = sqlite_store(tmp_path_factory.mktemp("sqlite") / "traces.db", spans)
    with Store.open(path) as store:
        yield store


@pytest.fixture(scope="module")
def built() -> dict[str, ClickHouseStore]:
    """Each kind's store, built once, when a test first asks for it."""
    return {}


def _built(built: dict[str, ClickHouseStore], spans: list, kind: str) -> ClickHouseStore:
    if kind not in built:
        built[kind] = clickhouse_store(kind, spans)
    return built[kind]


@pytest.fixture(params=sorted(CLICKHOUSE_KINDS))
def ch(request: pytest.FixtureRequest, built: dict, spans: list) -> ClickHouseStore:
    """Every table variant (for what depends on the indexes: reading one session's rows)."""
    return _built(built, spans, request.param)


@pytest.fixture(params=SHAPES)
def shape(request: pytest.FixtureRequest, built: dict, spans: list) -> ClickHouseStore:
    """One table per way of reading (schema × view)."""
    return _built(built, spans, request.param)


def _same_session(a: SessionRow, b: SessionRow) -> None:
    assert dataclasses.replace(a, cost_usd=0.0) == dataclasses.replace(b, cost_usd=0.0)
    assert a.cost_usd == pytest.approx(b.cost_usd, rel=1e-9, abs=1e-12)


_DECLARED = A.INT_KEYS | A.FLOAT_KEYS | A.BOOL_KEYS | A.LIST_KEYS


def _typed_like(local: dict, found: dict) -> dict:
    """Map mode keeps values of keys without a declared type as the exporter sent them (text);
    compare those as text. Declared keys keep their exact type (a double stays a double)."""
    return {
        k: exporter.as_string(v) if k not in _DECLARED and isinstance(found.get(k), str) else v
        for k, v in local.items()
    }


def _declared_types(attributes: dict) -> None:
    """Each value as its key's declared type, whatever the text looked like (``0`` → 0.0)."""
    for types, keys in ((int, A.INT_KEYS), (float, A.FLOAT_KEYS), (bool, A.BOOL_KEYS)):
        for key in keys & attributes.keys():
            assert type(attributes[key]) is types, (key, attributes[key])


def _same_span(a: SpanRow, b: SpanRow) -> None:
    fields = {f.name for f in dataclasses.fields(SpanRow)} - {"attributes", "events", "cost_usd"}
    for name in fields:
        assert getattr(a, name) == getattr(b, name), (a.name, name)
    assert a.cost_usd == pytest.approx(b.cost_usd), a.name
    assert _typed_like(a.attributes, b.attributes) == b.attributes, a.name
    _declared_types(b.attributes)
    assert [e["name"] for e in a.events] == [e["name"] for e in b.events]
    assert [e["time_ns"] for e in a.events] == [e["time_ns"] for e in b.events]


def test_the_schema_and_the_view_are_detected(ch: ClickHouseStore) -> None:
    kind = ch.where.database
    assert ch.has_view == kind.endswith("_view")
    assert ch.schema.json == ("_json" in kind)
    assert ch.schema.scope_in_attrs == ("_legacy" in kind)
    indexes = dict(
        chdb_client()
        .query(
            "SELECT name, type FROM system.data_skipping_indices WHERE database = {db:String} "
            "AND table = 'otel_traces'",
            parameters={"db": kind},
        )
        .result_rows
    )
    if "_json" in kind:  # the attribute-key columns' bloom filters
        assert indexes["idx_span_attr_keys"] == "bloom_filter"
    else:  # the text indexes today's exporter creates on this engine (26.2+), else bloom filters
        assert exporter.exporter_index(chdb_client()) == "text"
        text = "_map" in kind and "_bloom" not in kind
        assert indexes["idx_span_attr_key"] == ("text" if text else "bloom_filter"), indexes


def test_every_session_has_the_same_totals(local: Store, ch: ClickHouseStore) -> None:
    expected = local.list_sessions(limit=1000)
    found = ch.list_sessions(limit=1000)
    assert len(expected) == 64  # 60, the demo, one without ids, the unpriced one, the html one
    assert [s.id for s in found] == [s.id for s in expected]
    for a, b in zip(expected, found, strict=True):
        _same_session(a, b)
    # calls sent without a price are priced by the store, as the local store prices at ingest
    implicit = next(s for s in found if s.id == "f" * 32)
    assert implicit.name == "handle request" and implicit.cost_usd > 2.0
    assert next(s for s in found if s.id == "sess-0007").running


def test_every_span_reads_back_the_same(local: Store, ch: ClickHouseStore) -> None:
    for number, session in enumerate(local.list_sessions(limit=1000)):
        expected, found = local.session_spans(session.id), ch.session_spans(session.id)
        assert len(found) == len(expected) == session.span_count
        for a, b in zip(expected, found, strict=True):
            _same_span(a, b)
        last = expected[-1]
        _same_span(last, ch.get_span(session.id, last.span_id))
        if number % 6 == 0 or not session.id.startswith("sess-"):  # ~1 s each without a view
            _same_session(local.get_session(session.id), ch.get_session(session.id))


@pytest.mark.parametrize(
    "query",
    [
        {"tag": "nightly"},
        {"tag": "eu"},
        {"end_state": "fail"},
        {"end_state": "running"},
        {"model": "gpt-4o"},
        {"agent": "writer"},
        {"min_cost": 0.004},
        {"min_cost": 2.0},
        {"since": time.time() - 10 * 86_400},
        {"until": time.time() - 100 * 86_400},
        {"q": "refund"},
        {"q": "REFUND invoice 12"},
        {"q": "city 3"},
        {"q": "nowhere-to-be-found"},
        {"q": "onerror"},
        {"tag": "adhoc", "model": "gpt-4o", "end_state": "FAIL"},
    ],
    ids=repr,
)
def test_filters_keep_the_same_sessions(local: Store, shape: ClickHouseStore, query: dict) -> None:
    expected = [s.id for s in local.list_sessions(limit=1000, **query)]
    assert [s.id for s in shape.list_sessions(limit=1000, **query)] == expected
    if "q" not in query and "min_cost" not in query and query != {"end_state": "running"}:
        assert expected, query  # the data set has sessions for every filter


def _walk(store, size: int, **query) -> list[str]:
    seen, before = [], None
    while True:
        page = store.list_sessions(limit=size, before=before, **query)
        seen += [s.id for s in page]
        if len(page) < size:
            return seen
        before = (page[-1].start_ns, page[-1].id)


@pytest.mark.parametrize(
    "query", [{}, {"tag": "nightly"}, {"min_cost": 0.001}, {"q": "city"}], ids=repr
)
def test_keyset_pages_visit_each_session_once_in_order(
    local: Store, shape: ClickHouseStore, query: dict
) -> None:
    expected = _walk(local, 7, **query)
    found = _walk(shape, 7, **query)
    assert found == expected and len(set(found)) == len(found)


def test_overview_numbers_are_the_same(local: Store, shape: ClickHouseStore) -> None:
    for by in ("model", "agent"):
        expected = local.usage_over_time(0, 3600, by)
        found = shape.usage_over_time(0, 3600, by)
        assert [
            (r.bucket_ns, r.key, r.calls, r.errors, r.input_tokens, r.output_tokens, r.unpriced)
            for r in found
        ] == [
            (r.bucket_ns, r.key, r.calls, r.errors, r.input_tokens, r.output_tokens, r.unpriced)
            for r in expected
        ]
        assert [r.cost_usd for r in found] == pytest.approx([r.cost_usd for r in expected])
        assert any(r.unpriced for r in found) and sum(r.cost_usd for r in found) > 2.0
    for bucket in (3600, 86_400):
        assert shape.session_rates(time.time() - 30 * 86_400, bucket) == local.session_rates(
            time.time() - 30 * 86_400, bucket
        )


def test_session_ids_resolve_by_prefix(local: Store, ch: ClickHouseStore) -> None:
    assert ch.resolve_session("sess-0012") == "sess-0012"
    assert ch.resolve_session("unpriced") == local.resolve_session("unpriced")
    with pytest.raises(StoreError, match="ambiguous"):
        ch.resolve_session("sess-00")
    with pytest.raises(StoreError, match="no session matches"):
        ch.resolve_session("zzz")
    assert ch.get_session("zzz") is None and ch.get_span("sess-0012", "0" * 16) is None


def test_a_session_cut_by_a_window_edge_adds_up_whole() -> None:
    """Spans of one session on both sides of the one-day window: the page lists the session
    with every span counted."""
    now = time.time_ns()
    trace = "a" * 32
    attrs = {
        A.SESSION_ID: "edge",
        A.SPAN_KIND: A.KIND_LLM,
        A.GEN_AI_OPERATION_NAME: "chat",
        A.GEN_AI_REQUEST_MODEL: "gpt-4o",
        A.COST_USD: 1.0,
        A.GEN_AI_USAGE_INPUT_TOKENS: 1,
    }
    spans = decode(
        json_request(
            [
                json_span(trace, 1, "chat", attrs, start_ns=now - DAY_NS + 10**9),
                json_span(trace, 2, "chat", attrs, start_ns=now - DAY_NS // 2),
                json_span(trace, 3, "chat", attrs, start_ns=now - 10**9),
            ]
        )
    )
    store = clickhouse_store("clickhouse-map", spans)
    (session,) = store.list_sessions()
    assert (session.llm_calls, session.cost_usd, session.span_count) == (3, 3.0, 3)
    assert store.list_sessions(since=time.time() - 3600) == []  # it started a day ago


def test_live_inserts_move_the_change_markers() -> None:
    store = clickhouse_store("clickhouse-map", [])
    assert store.change_marker() == 0 and store.list_sessions() == []
    spans = decode(json_request([json_span("b" * 32, 1, "s", {A.SESSION_ID: "live"})]))
    exporter.insert(chdb_client(), store.where.database, spans)
    assert store.change_marker() == 1 and store.change_marker("live") == 1
    assert [s.id for s in store.list_sessions()] == ["live"]


def test_a_table_the_exporter_did_not_write_is_refused_clearly() -> None:
    client = chdb_client()
    client.command("CREATE DATABASE IF NOT EXISTS other")
    client.command("CREATE TABLE IF NOT EXISTS other.otel_traces (x String) ENGINE = Memory")
    with pytest.raises(StoreError, match="not a table written by the OpenTelemetry"):
        ClickHouseStore(client, Location("chdb://memory", "other", "otel_traces"))
    columns = ", ".join(
        f"{name} {'String' if name != 'Duration' else 'UInt64'}"
        for name in (
            "Timestamp",
            "TraceId",
            "SpanId",
            "ParentSpanId",
            "SpanName",
            "SpanKind",
            "ServiceName",
            "SpanAttributes",
            "Duration",
            "StatusCode",
            "StatusMessage",
        )
    )
    client.command(f"CREATE TABLE IF NOT EXISTS other.text_attrs ({columns}) ENGINE = Memory")
    with pytest.raises(StoreError, match="column SpanAttributes is String, not a Map or JSON"):
        ClickHouseStore(client, Location("chdb://memory", "other", "text_attrs"))
    with pytest.raises(StoreError, match=r"\(no column Timestamp, TraceId, SpanId, "):
        ClickHouseStore(client, Location("chdb://memory", "other", "otel_traces"))
    with pytest.raises(StoreError, match="cannot read"):
        ClickHouseStore(client, Location("chdb://memory", "other", "missing"))


def test_json_mode_keeps_a_key_that_is_also_the_parent_of_another() -> None:
    spans = decode(
        json_request(
            [
                json_span(
                    "c" * 32,
                    1,
                    "s",
                    {
                        A.SESSION_ID: "nested",
                        "agentops.session": "plain",
                        "x.y": 1,
                        "x.y.z": "deep",
                    },
                )
            ]
        )
    )
    store = clickhouse_store("clickhouse-json", spans)
    (span,) = store.session_spans("nested")
    assert span.attributes == {
        A.SESSION_ID: "nested",
        "agentops.session": "plain",
        "x.y": 1,
        "x.y.z": "deep",
    }


def test_locations_parse_and_hide_the_password() -> None:
    where = Location.parse("clickhouse://me:s3cret@db.internal:8123/otel?table=traces")
    assert (where.database, where.table) == ("otel", "traces")
    assert "s3cret" not in where.shown and "otel.traces" in where.shown
    assert Location.parse("http://host:8123", "team", None).table == "otel_traces"
    local_engine = Location.parse("chdb:///var/lib/ch?database=otel")
    assert (local_engine.dsn, local_engine.database) == ("chdb:///var/lib/ch", "otel")


def test_views_ddl_on_a_cluster_is_replicated() -> None:
    store = clickhouse_store("clickhouse-map", [])
    statements = list(views_ddl(store, cluster="prod"))
    assert len(statements) == 3
    assert all("ON CLUSTER `prod`" in s for s in statements[:2])
    assert "ReplicatedAggregatingMergeTree" in statements[0]
    assert "INSERT INTO" in statements[2] and "GROUP BY SessionId" in statements[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-m", "agentops_otel.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )


def test_cli_applies_the_view_and_reads_clickhouse(tmp_path: Path) -> None:
    """A chDB engine on disk (its own process): load spans, then ``clickhouse views --apply``
    and ``sessions`` through the CLI."""
    engine = tmp_path / "engine"
    loader = (
        "import sys, json; sys.path[:0] = ['tests']\n"
        "import clickhouse_connect\n"
        "from _stores import dataset\n"
        "from agentops_otel.testing import clickhouse as x\n"
        f"c = clickhouse_connect.get_client(dsn='chdb://{engine}')\n"
        "x.create_tables(c, 'otel')\n"
        "x.insert(c, 'otel', dataset())\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", loader], capture_output=True, text=True, timeout=180, cwd=ROOT
    )
    assert loaded.returncode == 0, loaded.stderr
    url = f"chdb://{engine}?database=otel"
    printed = _cli("clickhouse", "views", "--store", url)
    assert printed.returncode == 0, printed.stderr
    assert "CREATE MATERIALIZED VIEW" in printed.stdout and "AggregatingMergeTree" in printed.stdout
    applied = _cli("clickhouse", "views", "--store", url, "--apply")
    assert applied.returncode == 0 and "applied" in applied.stdout, applied.stderr
    listed = _cli("sessions", "--store", url, "--json", "--limit", "100")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 63
    refused = _cli("clickhouse", "views", "--store", str(tmp_path))
    assert refused.returncode == 1 and "ClickHouse URL" in refused.stderr
