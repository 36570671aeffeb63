"""The local SQLite store: spans written through the real export pipeline, read back through the
read API the CLI uses."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from agentops_otel import semconv as A
from agentops_otel._config import Settings
from agentops_otel.export import build_span_processors
from agentops_otel.store import SCHEMA_VERSION, Store, StoreError, StoreWriter, default_path

DAY_NS = 86_400 * 10**9


def _provider(db: Path, **settings: object) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "store-test"}))
    for processor in build_span_processors(
        Settings(local_store=True, store_path=str(db), **settings)  # type: ignore[arg-type]
    ):
        provider.add_span_processor(processor)
    return provider


def _session(
    tracer,
    sid: str,
    *,
    name: str = "demo",
    tags=("prod",),
    end_state="Success",
    llm_calls: int = 2,
    start_ns: int | None = None,
    end: bool = True,
) -> None:
    """A session span with an agent and ``llm_calls`` priced LLM spans beneath it."""
    ident = {A.SESSION_ID: sid, A.SESSION_NAME: name}
    session = tracer.start_span(
        f"session {name}",
        start_time=start_ns,
        attributes={**ident, A.SPAN_KIND: A.KIND_SESSION, A.SESSION_TAGS: list(tags)},
    )
    ctx = set_span_in_context(session)
    agent = tracer.start_span(
        "invoke_agent planner",
        context=ctx,
        start_time=start_ns,
        attributes={**ident, A.SPAN_KIND: A.KIND_AGENT, A.AGENT_NAME: "planner"},
    )
    actx = set_span_in_context(agent)
    for i in range(llm_calls):
        llm = tracer.start_span(
            "chat gpt-4o",
            context=actx,
            start_time=start_ns,
            attributes={
                **ident,
                A.SPAN_KIND: A.KIND_LLM,
                A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                A.GEN_AI_PROVIDER_NAME: "openai",
                A.GEN_AI_USAGE_INPUT_TOKENS: 100 + i,
                A.GEN_AI_USAGE_OUTPUT_TOKENS: 10,
                A.COST_USD: 0.25,
                A.LOOP_DETECTED: i == 1,
            },
        )
        llm.add_event("gen_ai.choice", {"index": i})
        if i == 0:
            llm.set_status(Status(StatusCode.ERROR, "rate limited"))
        llm.end(end_time=None if start_ns is None else start_ns + 1000)
    agent.end(end_time=None if start_ns is None else start_ns + 2000)
    if end:
        session.set_attributes(
            {
                A.SESSION_END_STATE: end_state,
                A.SESSION_END_REASON: "done",
                A.TOTAL_COST_USD: 0.25 * llm_calls,
            }
        )
        session.end(end_time=None if start_ns is None else start_ns + 3000)


def test_spans_round_trip_with_session_totals(tmp_path: Path) -> None:
    provider = _provider(tmp_path)
    tracer = provider.get_tracer("t")
    _session(tracer, "sess-aaa111", llm_calls=3)
    provider.shutdown()

    with Store.open(tmp_path) as store:
        (row,) = store.list_sessions()
        assert (row.id, row.name, row.tags, row.service) == (
            "sess-aaa111",
            "demo",
            ("prod",),
            "store-test",
        )
        assert (row.end_state, row.end_reason, row.running) == ("Success", "done", False)
        assert row.cost_usd == pytest.approx(0.75)
        assert (row.input_tokens, row.output_tokens, row.llm_calls) == (303, 30, 3)
        assert (row.errors, row.span_count, row.loop_detected, row.budget_exceeded) == (
            1,
            5,
            True,
            False,
        )
        spans = store.session_spans("sess-aaa111")
    by_kind = {s.agentops_kind: s for s in spans}
    assert len(spans) == 5 and spans[0].agentops_kind == A.KIND_SESSION
    assert by_kind[A.KIND_AGENT].parent_span_id == by_kind[A.KIND_SESSION].span_id
    llm = by_kind[A.KIND_LLM]
    assert llm.parent_span_id == by_kind[A.KIND_AGENT].span_id
    assert (llm.model, llm.provider, llm.cost_usd, llm.output_tokens) == (
        "gpt-4o",
        "openai",
        0.25,
        10,
    )
    assert llm.attributes[A.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert llm.events[0]["name"] == "gen_ai.choice"
    assert llm.events[0]["attributes"]["index"] == llm.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] - 100
    assert {s.status_code for s in spans} == {"UNSET", "ERROR"}
    assert llm.kind == "INTERNAL" and len({s.trace_id for s in spans}) == 1


def test_running_session_visible_before_session_span_ends(tmp_path: Path) -> None:
    provider = _provider(tmp_path)
    tracer = provider.get_tracer("t")
    _session(tracer, "sess-running", llm_calls=2, end=False)
    for processor in provider._active_span_processor._span_processors:
        assert processor.force_flush(5_000)
    with Store.open(tmp_path) as store:
        (row,) = store.list_sessions(end_state="running")
        assert row.running and row.llm_calls == 2 and row.cost_usd == pytest.approx(0.5)
        assert store.list_sessions(end_state="Success") == []
    provider.shutdown()


def test_resent_spans_are_not_counted_twice(tmp_path: Path) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    _session(provider.get_tracer("t"), "sess-twice", llm_calls=2)
    spans = memory.get_finished_spans()
    writer = StoreWriter(tmp_path / "traces.db")
    assert writer.write(spans) == 4
    assert writer.write(spans) == 0
    writer.close()
    with Store.open(tmp_path / "traces.db") as store:
        row = store.get_session("sess-twice")
    assert row is not None and row.llm_calls == 2 and row.span_count == 4


def test_spans_without_a_session_group_by_trace_and_are_priced(tmp_path: Path) -> None:
    """Another vendor's LLM span: no agentops.* keys, no cost."""
    provider = _provider(tmp_path)
    tracer = provider.get_tracer("other-vendor")
    with tracer.start_as_current_span("handle request"):
        with tracer.start_as_current_span(
            "chat gpt-4o-mini",
            attributes={
                A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
                A.GEN_AI_PROVIDER_NAME: "openai",
                A.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000,
                A.GEN_AI_USAGE_OUTPUT_TOKENS: 0,
            },
        ):
            pass
    provider.shutdown()
    with Store.open(tmp_path) as store:
        (row,) = store.list_sessions()
        assert row.name == "handle request" and row.id == row.trace_id and not row.running
        assert row.llm_calls == 1
        llm = next(s for s in store.session_spans(row.id) if s.model)
    from agentops_otel.pricing import cost_for

    expected = cost_for("openai", "gpt-4o-mini", input_tokens=1_000_000, output_tokens=0)
    assert expected is not None and expected.total_usd > 0
    assert llm.cost_usd == pytest.approx(float(expected.total_usd))
    assert llm.cost_source.startswith("store:")
    assert row.cost_usd == pytest.approx(float(expected.total_usd))


def test_list_filters_and_prefix_resolution(tmp_path: Path) -> None:
    provider = _provider(tmp_path)
    tracer = provider.get_tracer("t")
    old = time.time_ns() - 3 * DAY_NS
    _session(tracer, "abc-111", tags=("prod",), end_state="Success", start_ns=old)
    _session(tracer, "abc-222", tags=("dev",), end_state="Fail")
    _session(tracer, "xyz-333", tags=("prod", "eval"), end_state="Indeterminate")
    provider.shutdown()
    with Store.open(tmp_path) as store:
        assert [s.id for s in store.list_sessions()][-1] == "abc-111"  # newest first
        assert {s.id for s in store.list_sessions(tag="prod")} == {"abc-111", "xyz-333"}
        assert [s.id for s in store.list_sessions(end_state="fail")] == ["abc-222"]
        assert {s.id for s in store.list_sessions(since=time.time() - DAY_NS / 1e9)} == {
            "abc-222",
            "xyz-333",
        }
        assert len(store.list_sessions(limit=1)) == 1
        assert store.resolve_session("xy") == "xyz-333"
        assert store.resolve_session("abc-2") == "abc-222"
        with pytest.raises(StoreError, match="ambiguous"):
            store.resolve_session("abc")
        with pytest.raises(StoreError, match="no session"):
            store.resolve_session("nope")


def test_retention_deletes_old_sessions_on_open(tmp_path: Path) -> None:
    provider = _provider(tmp_path, retention_days=0)  # 0: keep everything
    tracer = provider.get_tracer("t")
    _session(tracer, "ancient", start_ns=time.time_ns() - 40 * DAY_NS)
    _session(tracer, "recent", start_ns=time.time_ns() - 2 * DAY_NS)
    provider.shutdown()
    with Store.open(tmp_path) as store:
        assert {s.id for s in store.list_sessions()} == {"ancient", "recent"}

    provider = _provider(tmp_path, retention_days=7)
    _session(provider.get_tracer("t"), "new")
    provider.shutdown()
    with Store.open(tmp_path) as store:
        assert {s.id for s in store.list_sessions()} == {"recent", "new"}
        assert store.session_spans("ancient") == []
        assert len(store.session_spans("recent")) == 4


_WRITER = """
import sys
from opentelemetry.sdk.trace import TracerProvider
from agentops_otel._config import Settings
from agentops_otel.export import build_span_processors
provider = TracerProvider()
for p in build_span_processors(Settings(local_store=True, store_path=sys.argv[1],
                                        max_queue_size=100_000)):
    provider.add_span_processor(p)
tracer = provider.get_tracer("w")
tag = sys.argv[2]
for i in range(int(sys.argv[3])):
    with tracer.start_as_current_span("chat m", attributes={
            "agentops.session.id": f"{tag}-{i % 5}", "agentops.span.kind": "llm",
            "gen_ai.usage.input_tokens": 1, "agentops.cost.usd": 0.5}):
        pass
provider.shutdown()
"""


def test_two_processes_write_the_same_store(tmp_path: Path) -> None:
    n = 3000
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), tag, str(n)])
        for tag in ("p1", "p2")
    ]
    assert [p.wait(60) for p in procs] == [0, 0]
    with Store.open(tmp_path) as store:
        sessions = store.list_sessions(limit=100)
        assert len(sessions) == 10
        assert sum(s.llm_calls for s in sessions) == 2 * n
        assert sum(s.input_tokens for s in sessions) == 2 * n
        assert sum(len(store.session_spans(s.id)) for s in sessions) == 2 * n


def test_missing_corrupt_and_foreign_files_raise_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no local store"):
        Store.open(tmp_path / "missing")
    corrupt = tmp_path / "corrupt" / "traces.db"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"this is not sqlite" * 500)
    with pytest.raises(StoreError, match="corrupt"):
        Store.open(corrupt.parent)
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not an agentops-otel store"):
        Store.open(foreign)
    newer = tmp_path / "newer"
    StoreWriter(newer / "traces.db").write([])
    with sqlite3.connect(newer / "traces.db") as conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="schema version"):
        Store.open(newer)


def test_corrupt_store_disables_writing_with_one_warning(tmp_path: Path, caplog) -> None:
    (tmp_path / "traces.db").write_bytes(b"garbage" * 1000)
    provider = _provider(tmp_path)
    tracer = provider.get_tracer("t")
    with caplog.at_level(logging.WARNING, logger="agentops_otel"):
        for _ in range(3):
            _session(tracer, "s1")
            for processor in provider._active_span_processor._span_processors:
                processor.force_flush(5_000)
        provider.shutdown()
    disabled = [r for r in caplog.records if "local store disabled" in r.getMessage()]
    assert len(disabled) == 1
    assert (tmp_path / "traces.db").read_bytes() == b"garbage" * 1000


def test_default_path_resolution(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AGENTOPS_OTEL_HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / "traces.db"
    assert default_path(tmp_path / "x.db") == tmp_path / "x.db"
    monkeypatch.delenv("AGENTOPS_OTEL_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "agentops-otel" / "traces.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_path() == tmp_path / "user" / ".local" / "share" / "agentops-otel" / "traces.db"
    assert default_path("relative").is_relative_to(tmp_path / "user")  # never the working dir


def test_nothing_touches_disk_until_a_span_is_exported(tmp_path: Path) -> None:
    provider = _provider(tmp_path / "lazy")
    assert not (tmp_path / "lazy").exists()
    provider.shutdown()


def test_duplicate_vendor_llm_span_is_stored_but_not_counted(tmp_path: Path) -> None:
    """A span the core marked as another vendor's copy of one of our LLM spans."""
    provider = _provider(tmp_path)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span(
        "chat gpt-4o",
        attributes={
            A.SESSION_ID: "dup",
            A.SPAN_KIND: A.KIND_LLM,
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_USAGE_INPUT_TOKENS: 1000,
            A.COST_USD: 0.01,
        },
    ):
        with tracer.start_as_current_span(
            "openai.chat",
            attributes={
                A.SESSION_ID: "dup",
                A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                A.GEN_AI_PROVIDER_NAME: "openai",
                A.GEN_AI_USAGE_INPUT_TOKENS: 1000,
                A.LLM_DUPLICATE: True,
            },
        ):
            pass
    provider.shutdown()
    with Store.open(tmp_path) as store:
        row = store.get_session("dup")
        spans = store.session_spans("dup")
    assert row is not None and (row.llm_calls, row.input_tokens) == (1, 1000)
    assert row.cost_usd == pytest.approx(0.01) and len(spans) == 2
    assert next(s for s in spans if s.name == "openai.chat").cost_usd is None


@pytest.mark.parametrize("remote_first", [True, False])
def test_spans_of_another_process_join_the_session_of_their_trace(tmp_path, remote_first):
    """A remote service (an MCP server) continued the session's trace and wrote its spans,
    without a session id, to the same store: they join the session, in either arrival order."""
    db = tmp_path / "traces.db"
    client = TracerProvider().get_tracer("client")
    session = client.start_span(
        "session app",
        attributes={A.SESSION_ID: "s-join", A.SPAN_KIND: A.KIND_SESSION, A.SESSION_NAME: "app"},
    )
    call = client.start_span("tools/call ask", context=set_span_in_context(session))
    exporter = InMemorySpanExporter()
    server = TracerProvider()
    server.add_span_processor(SimpleSpanProcessor(exporter))
    handled = server.get_tracer("server").start_span(
        "tools/call ask", context=set_span_in_context(call)
    )  # the remote parent
    llm = server.get_tracer("server").start_span(
        "chat gpt-4o",
        context=set_span_in_context(handled),
        attributes={
            A.SPAN_KIND: A.KIND_LLM,
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_USAGE_INPUT_TOKENS: 40,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 5,
            A.COST_USD: 0.5,
        },
    )
    for span in (llm, handled, call, session):
        span.end()
    writer = StoreWriter(db)
    remote = list(exporter.get_finished_spans())
    local = [call, session]
    for batch in (remote, local) if remote_first else (local, remote):
        writer.write(batch)
    writer.close()
    with Store.open(db) as reader:
        sessions = reader.list_sessions()
        spans = reader.session_spans("s-join")
    assert [s.id for s in sessions] == ["s-join"]  # no separate group for the trace
    (row,) = sessions
    assert (row.llm_calls, row.input_tokens, row.output_tokens) == (1, 40, 5)
    assert row.cost_usd == pytest.approx(0.5)
    assert row.span_count == 4
    assert {s.name for s in spans} == {"session app", "tools/call ask", "chat gpt-4o"}
    assert len(spans) == 4
