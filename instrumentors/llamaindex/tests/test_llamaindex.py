"""LlamaIndex agents, workflows and a RAG query against the fake server: the span tree,
identity, totals and costs; errors, uninstrument and a class that moved."""

from __future__ import annotations

import logging
from typing import Any

import openai
import pytest
from _apps import (
    EMBEDDING_MODEL,
    FORECAST,
    MODEL,
    PROMPT,
    QUESTION,
    RAG_ANSWER,
    coordinator,
    forecaster,
    llm,
    rag_query,
    reactor,
    run,
    team,
)
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.tools import FunctionTool
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from agentops_llamaindex import LlamaIndexInstrumentor, _tracer
from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.frameworks import (
    assert_calls_under,
    attrs,
    one,
    tool_names,
    totals,
    usage_of,
)
from agentops_otel.testing.spans import SpanCapture

ANSWER = f"The tool returned: test: {FORECAST}"


def chats(server: FakeLLMServer) -> list[dict[str, Any]]:
    return [r for r in server.requests if r["path"].endswith("/chat/completions")]


def assert_llm_spans_match(capture: SpanCapture, requests: list[dict[str, Any]]) -> None:
    """One LLM span per request (none twice: the openai SDK span stands down), priced."""
    llms = capture.of_kind(A.KIND_LLM)
    assert len(llms) == len(requests)
    assert sorted(attrs(s)[A.GEN_AI_USAGE_INPUT_TOKENS] for s in llms) == sorted(
        r["usage"]["input_tokens"] for r in requests
    )
    assert all(attrs(s)[A.COST_USD] > 0 for s in llms)


@pytest.mark.parametrize("streaming", [True, False])
def test_function_agent_with_a_tool_round_trip(
    server: FakeLLMServer,
    capture: SpanCapture,
    instrumented: LlamaIndexInstrumentor,
    streaming: bool,
) -> None:
    agent = forecaster(server.openai_base_url, streaming=streaming)
    with capture.session() as root:
        assert run(agent) == ANSWER
        assert trace.get_current_span() is root
    requests = server.requests
    assert len(requests) == 2 and all(r["path"] == "/v1/chat/completions" for r in requests)

    agent_span = one(capture.of_kind(A.KIND_AGENT))
    a = attrs(agent_span)
    assert agent_span.name == "invoke_agent forecaster"
    assert a[A.AGENT_NAME] == a[A.GEN_AI_AGENT_NAME] == "forecaster"
    assert a[A.GEN_AI_AGENT_DESCRIPTION] == "Answers weather questions"
    assert PROMPT in a[A.INPUT] and FORECAST in a[A.OUTPUT]
    assert capture.parent_of(agent_span).context == root.get_span_context()

    llms = sorted(capture.of_kind(A.KIND_LLM), key=lambda s: s.start_time)
    tool = one(capture.of_kind(A.KIND_TOOL))
    assert [
        s.name for s in sorted(capture.children_of(agent_span), key=lambda s: s.start_time)
    ] == [f"chat {MODEL}", "execute_tool get_forecast", f"chat {MODEL}"]
    assert llms[0].end_time <= tool.start_time and tool.end_time <= llms[1].start_time
    assert attrs(tool)[A.GEN_AI_TOOL_DESCRIPTION].endswith("The forecast for a city.")
    assert FORECAST in attrs(tool)[A.GEN_AI_TOOL_CALL_RESULT]
    for span in (*llms, tool):
        assert attrs(span)[A.AGENT_NAME] == "forecaster"
        assert attrs(span)[A.AGENT_ID] == a[A.AGENT_ID]
        assert attrs(span)[A.SESSION_ID] == "s1"
    for span in llms:
        assert attrs(span)[A.GEN_AI_PROVIDER_NAME] == "openai"
        assert attrs(span)[A.GEN_AI_REQUEST_MODEL] == MODEL
    assert_llm_spans_match(capture, requests)

    expected = usage_of(requests)
    cost = sum(attrs(s)[A.COST_USD] for s in llms)
    for span in (capture.parent_of(agent_span), agent_span):
        assert totals(span) == expected
        assert attrs(span)[A.LLM_CALLS] == 2
        assert attrs(span)[A.TOTAL_COST_USD] == pytest.approx(cost)


def test_react_agent(
    server: FakeLLMServer, capture: SpanCapture, instrumented: LlamaIndexInstrumentor
) -> None:
    with capture.session():
        assert run(reactor(server)) == FORECAST
    agent = one(capture.of_kind(A.KIND_AGENT))
    assert agent.name == "invoke_agent reactor"
    children = sorted(capture.children_of(agent), key=lambda s: s.start_time)
    assert [s.name for s in children] == [
        f"chat {MODEL}",
        "execute_tool get_forecast",
        f"chat {MODEL}",
    ]
    assert all(attrs(s)[A.AGENT_NAME] == "reactor" for s in children)
    assert "Paris" in attrs(children[1])[A.GEN_AI_TOOL_CALL_ARGUMENTS]
    assert_llm_spans_match(capture, server.requests)
    assert totals(agent) == usage_of(server.requests)


def test_agent_calling_an_agent_through_a_tool(
    server: FakeLLMServer, capture: SpanCapture, instrumented: LlamaIndexInstrumentor
) -> None:
    with capture.session() as root:
        assert FORECAST in run(coordinator(server.openai_base_url))
    requests = server.requests
    own = {
        "coordinator": [r for r in requests if tool_names(r) == ["ask_forecaster"]],
        "forecaster": [r for r in requests if tool_names(r) == ["get_forecast"]],
    }
    assert len(own["coordinator"]) == len(own["forecaster"]) == 2 and len(requests) == 4

    agents = {attrs(s)[A.AGENT_NAME]: s for s in capture.of_kind(A.KIND_AGENT)}
    assert set(agents) == {"coordinator", "forecaster"}
    delegate = one(capture.named("execute_tool ask_forecaster"))
    assert capture.parent_of(delegate) is agents["coordinator"]
    assert capture.parent_of(agents["forecaster"]) is delegate
    assert attrs(delegate)[A.AGENT_NAME] == "coordinator"
    for name, agent in agents.items():
        llms = [s for s in capture.of_kind(A.KIND_LLM) if capture.parent_of(s) is agent]
        assert len(llms) == 2 and all(attrs(s)[A.AGENT_NAME] == name for s in llms)
    assert attrs(one(capture.named("execute_tool get_forecast")))[A.AGENT_NAME] == "forecaster"
    assert_llm_spans_match(capture, requests)
    assert totals(agents["forecaster"]) == usage_of(own["forecaster"])
    assert totals(agents["coordinator"]) == usage_of(requests)
    assert totals(one(capture.of_kind(A.KIND_SESSION))) == usage_of(requests)
    assert capture.parent_of(agents["coordinator"]).context == root.get_span_context()


def test_agent_workflow_turns_are_agent_spans(
    server: FakeLLMServer, capture: SpanCapture, instrumented: LlamaIndexInstrumentor
) -> None:
    """A multi-agent AgentWorkflow: a workflow span, one agent span per turn, and the tool
    calls a turn asked for carry that agent's identity."""
    with capture.session():
        run(team(server.openai_base_url))
    requests = server.requests
    workflow = one(capture.of_kind(A.KIND_WORKFLOW))
    assert workflow.name == "invoke_workflow AgentWorkflow"
    turns = capture.of_kind(A.KIND_AGENT)
    assert len(turns) == len(requests) >= 2
    assert all(s.name == "invoke_agent forecaster" for s in turns)
    assert all(capture.parent_of(s) is workflow for s in turns)
    assert len({attrs(s)[A.AGENT_ID] for s in turns}) == 1
    for turn in turns:
        (llm,) = [s for s in capture.of_kind(A.KIND_LLM) if capture.parent_of(s) is turn]
        assert attrs(llm)[A.AGENT_NAME] == "forecaster"
    tools = capture.of_kind(A.KIND_TOOL)
    assert tools and all(capture.parent_of(t) is workflow for t in tools)
    for tool in tools:
        assert attrs(tool)[A.AGENT_NAME] == "forecaster"
        assert attrs(tool)[A.AGENT_ID] == attrs(turns[0])[A.AGENT_ID]
    assert_llm_spans_match(capture, requests)
    assert totals(workflow) == usage_of(requests)
    assert totals(one(capture.of_kind(A.KIND_SESSION))) == usage_of(requests)


def test_rag_query(
    server: FakeLLMServer,
    capture: SpanCapture,
    instrumented: LlamaIndexInstrumentor,
    openai_instrumented: bool,
) -> None:
    with capture.session():
        assert rag_query(server) == RAG_ANSWER
    embeddings = [r for r in server.requests if r["path"] == "/v1/embeddings"]
    (chat,) = chats(server)
    assert len(embeddings) == 2  # the documents while indexing, then the question

    query = one(capture.named("operation RetrieverQueryEngine.query"))
    retrieve = one(capture.named("operation VectorIndexRetriever.retrieve"))
    assert capture.parent_of(retrieve) is query
    for span in (query, retrieve):
        assert attrs(span)[A.SPAN_KIND] == A.KIND_OPERATION
        assert attrs(span)[A.RETRIEVAL_DOCUMENTS] == 2
        assert attrs(span)[A.INPUT] == f'"{QUESTION}"'
    assert attrs(retrieve)[A.GEN_AI_OPERATION_NAME] == A.OP_RETRIEVAL
    assert attrs(query)[A.OUTPUT] == f'"{RAG_ANSWER}"'
    assert "The forecast for Paris is sunny." in attrs(retrieve)[A.OUTPUT]

    llm = one(
        [s for s in capture.of_kind(A.KIND_LLM) if attrs(s)[A.GEN_AI_OPERATION_NAME] == A.OP_CHAT]
    )
    assert capture.parent_of(llm) is query
    assert attrs(llm)[A.GEN_AI_USAGE_INPUT_TOKENS] == chat["usage"]["input_tokens"]
    # Embedding requests are counted by the openai instrumentor (openai >= 2); LlamaIndex's
    # events carry no embedding usage, so with openai 1.x they are not counted.
    counted = [chat, *embeddings] if openai_instrumented else [chat]
    vectors = [
        s
        for s in capture.of_kind(A.KIND_LLM)
        if attrs(s)[A.GEN_AI_OPERATION_NAME] == A.OP_EMBEDDINGS
    ]
    assert len(vectors) == len(counted) - 1
    assert all(s.name == f"embeddings {EMBEDDING_MODEL}" for s in vectors)
    if vectors:
        assert any(capture.parent_of(s) is retrieve for s in vectors)
    assert_llm_spans_match(capture, counted)
    assert totals(query) == usage_of([r for r in counted if r is not embeddings[0]])
    assert totals(one(capture.of_kind(A.KIND_SESSION))) == usage_of(counted)


class Boom(Exception):
    """The user's own exception, raised by a tool."""


def test_user_exception_passes_through_a_tool(
    capture: SpanCapture, instrumented: LlamaIndexInstrumentor
) -> None:
    boom = Boom("forecast service down")

    def broken(city: str) -> str:
        """A tool that fails."""
        raise boom

    with capture.session(), pytest.raises(Boom) as info:
        FunctionTool.from_defaults(broken).call(city="Paris")
    assert info.value is boom
    tool = one(capture.of_kind(A.KIND_TOOL))
    assert tool.status.status_code is StatusCode.ERROR and attrs(tool)[A.ERROR_TYPE] == "Boom"
    assert attrs(one(capture.of_kind(A.KIND_SESSION)))[A.ERRORS] == 1


def test_failed_model_call_is_an_llm_error(
    capture: SpanCapture, instrumented: LlamaIndexInstrumentor
) -> None:
    model = llm("http://127.0.0.1:9/v1")  # nothing listens there: the connection is refused
    with capture.session(), pytest.raises(openai.APIConnectionError):
        model.complete("hello")
    call = one(capture.of_kind(A.KIND_LLM))
    assert call.name == f"text_completion {MODEL}"
    assert call.status.status_code is StatusCode.ERROR
    assert attrs(call)[A.ERROR_TYPE] == "APIConnectionError"
    assert attrs(one(capture.of_kind(A.KIND_SESSION)))[A.ERRORS] == 1


def test_uninstrument_removes_the_handlers(
    server: FakeLLMServer, capture: SpanCapture, openai_instrumented: bool
) -> None:
    root = get_dispatcher()
    before = (list(root.span_handlers), list(root.event_handlers))
    instrumentor = LlamaIndexInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    assert len(root.span_handlers) == len(before[0]) + 1
    instrumentor.uninstrument()
    assert (root.span_handlers, root.event_handlers) == before

    with capture.session():
        assert run(forecaster(server.openai_base_url)) == ANSWER
    kinds = [attrs(s)[A.SPAN_KIND] for s in capture.spans]
    # the openai SDK spans remain (openai >= 2), ours are gone
    assert sorted(kinds) == [A.KIND_LLM] * (2 if openai_instrumented else 0) + [A.KIND_SESSION]


def test_moved_class_degrades_to_fewer_spans(
    server: FakeLLMServer,
    capture: SpanCapture,
    openai_instrumented: bool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    moved = tuple(
        (key, module, name + "Moved" if key == "tool" else name)
        for key, module, name in _tracer.CLASSES
    )
    monkeypatch.setattr(_tracer, "CLASSES", moved)
    instrumentor = LlamaIndexInstrumentor()
    with caplog.at_level(logging.DEBUG, logger=_tracer.__name__):
        instrumentor.instrument(tracer_provider=capture.provider)
    try:
        logged = [r for r in caplog.records if "BaseToolMoved" in r.getMessage()]
        assert len(logged) == 1 and logged[0].levelno == logging.DEBUG
        with capture.session():
            assert run(forecaster(server.openai_base_url)) == ANSWER
    finally:
        instrumentor.uninstrument()
    assert not capture.of_kind(A.KIND_TOOL)
    assert_calls_under(capture, one(capture.of_kind(A.KIND_AGENT)), server.requests)
