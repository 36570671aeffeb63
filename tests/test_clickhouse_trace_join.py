"""The ClickHouse reader joins a trace's spans into its session across processes, as the local
store's writer does (``join_trace``): an MCP server's spans (another process, the same trace, no
session attribute) roll up into the client's session, on every table kind, with and without the
sessions view, whichever process's spans arrived first."""

from __future__ import annotations

import dataclasses

import pytest
from _stores import CLICKHOUSE_KINDS, clickhouse_store, sqlite_store
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import set_span_in_context

from agentops_otel import semconv as A
from agentops_otel.store import Store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _llm(tracer, name: str, parent, tokens: tuple[int, int], cost: float):
    return tracer.start_span(
        name,
        context=set_span_in_context(parent),
        attributes={
            A.SPAN_KIND: A.KIND_LLM,
            A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_PROVIDER_NAME: "openai",
            A.GEN_AI_USAGE_INPUT_TOKENS: tokens[0],
            A.GEN_AI_USAGE_OUTPUT_TOKENS: tokens[1],
            A.COST_USD: cost,
        },
    )


def _spans(remote_first: bool) -> list[ReadableSpan]:
    """A client session (one LLM call, one MCP tool call) whose trace an MCP server in another
    process continued (one LLM call of its own, no session attribute), and a trace of a third
    process that no session owns."""
    client = TracerProvider(resource=Resource({"service.name": "agent"})).get_tracer("client")
    server = TracerProvider(resource=Resource({"service.name": "mcp-server"})).get_tracer("srv")
    session = client.start_span(
        "session app",
        attributes={A.SESSION_ID: "s-join", A.SPAN_KIND: A.KIND_SESSION, A.SESSION_NAME: "app"},
    )
    own = _llm(client, "chat gpt-4o", session, (100, 10), 0.25)
    call = client.start_span(
        "tools/call ask",
        context=set_span_in_context(session),
        attributes={A.SESSION_ID: "s-join", A.SPAN_KIND: A.KIND_TOOL},
    )
    handled = server.start_span("tools/call ask", context=set_span_in_context(call))
    remote_llm = _llm(server, "chat gpt-4o", handled, (40, 5), 0.5)
    lone = server.start_span("lone job")
    lone_llm = _llm(server, "chat gpt-4o", lone, (7, 3), 0.01)
    own.set_attribute(A.SESSION_ID, "s-join")
    for span in (own, remote_llm, handled, call, session, lone_llm, lone):
        span.end()
    remote, local = [remote_llm, handled, lone_llm, lone], [own, call, session]
    return remote + local if remote_first else local + remote


@pytest.fixture(scope="module", params=[True, False], ids=["server-first", "client-first"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    spans = _spans(request.param)
    path = sqlite_store(tmp_path_factory.mktemp("sqlite") / "traces.db", spans)
    with Store.open(path) as local:
        yield spans, local


@pytest.mark.parametrize("kind", sorted(CLICKHOUSE_KINDS))
def test_clickhouse_joins_another_process_spans_into_the_session_of_their_trace(
    loaded, kind: str
) -> None:
    spans, local = loaded
    ch = clickhouse_store(kind, spans)
    expected = local.list_sessions()
    (joined,) = [s for s in expected if s.id == "s-join"]
    (lone,) = [s for s in expected if s.id != "s-join"]  # the trace no session owns
    assert lone.id == lone.trace_id and lone.llm_calls == 1
    assert (joined.llm_calls, joined.input_tokens, joined.output_tokens) == (2, 140, 15)
    assert joined.cost_usd == pytest.approx(0.75) and joined.span_count == 5

    found = ch.list_sessions()
    assert [s.id for s in found] == [s.id for s in expected]
    for want, got in zip(expected, found, strict=True):
        assert got == dataclasses.replace(want, cost_usd=got.cost_usd)
        assert got.cost_usd == pytest.approx(want.cost_usd)
    assert ch.get_session("s-join") == next(s for s in found if s.id == "s-join")
    rows = ch.session_spans("s-join")
    assert sorted((s.name, s.session_id) for s in rows) == sorted(
        (s.name, s.session_id) for s in local.session_spans("s-join")
    )
    assert {s.service for s in rows} == {"agent", "mcp-server"}
    assert ch.change_marker("s-join") == 5
    assert {s.name for s in ch.session_spans(lone.id)} == {"lone job", "chat gpt-4o"}
    assert ch.get_session(lone.id) == next(s for s in found if s.id == lone.id)
