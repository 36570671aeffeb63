"""Pydantic AI agents against the fake server: the span tree, identity, totals and costs, with
and without Pydantic AI's own instrumentation, errors, uninstrument and a moved method."""

from __future__ import annotations

import asyncio
import logging

import pytest
import wrapt
from _apps import (
    CLAUDE,
    FORECAST,
    MODEL,
    PROMPT,
    anthropic_agent,
    coordinator_agent,
    weather_agent,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from pydantic_ai import Agent
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.toolsets.function import FunctionToolset

import agentops_pydantic_ai
from agentops_anthropic import AnthropicInstrumentor
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
from agentops_pydantic_ai import PydanticAIInstrumentor

ANSWER = f"The tool returned: test: {FORECAST}"


def counted(capture: SpanCapture) -> list[ReadableSpan]:
    """Spans a store counts as model calls: ours, or another vendor's not flagged duplicate."""
    return [
        s
        for s in capture.spans
        if not attrs(s).get(A.LLM_DUPLICATE)
        and (
            attrs(s).get(A.SPAN_KIND) == A.KIND_LLM
            or (
                A.SPAN_KIND not in attrs(s)
                and attrs(s).get(A.GEN_AI_OPERATION_NAME) in A.INFERENCE_OPERATIONS
            )
        )
    ]


def ours(capture: SpanCapture, span: ReadableSpan) -> ReadableSpan:
    """The nearest ancestor of ``span`` that is one of our kinds (Pydantic AI's own spans may
    sit between)."""
    parent = capture.parent_of(span)
    while parent is not None and A.SPAN_KIND not in attrs(parent):
        parent = capture.parent_of(parent)
    assert parent is not None
    return parent


def assert_weather_run(
    capture: SpanCapture, server: FakeLLMServer, model: str = MODEL
) -> ReadableSpan:
    """One agent, a tool round trip: agent → llm, tool, llm; identity, totals and costs."""
    root = one(capture.of_kind(A.KIND_SESSION))
    agent = one(capture.of_kind(A.KIND_AGENT))
    a = attrs(agent)
    assert agent.name == "invoke_agent forecaster"
    assert a[A.AGENT_NAME] == a[A.GEN_AI_AGENT_NAME] == "forecaster"
    assert a[A.AGENT_ID] and a[A.SESSION_ID] == "s1"
    assert PROMPT in a[A.INPUT] and FORECAST in a[A.OUTPUT]
    assert capture.parent_of(agent) is root

    requests = server.requests
    assert len(requests) == 2
    llms = sorted(capture.of_kind(A.KIND_LLM), key=lambda s: s.start_time)
    assert len(llms) == len(requests)
    tool = one(capture.of_kind(A.KIND_TOOL))
    assert tool.name == "execute_tool get_forecast"
    assert attrs(tool)[A.GEN_AI_TOOL_DESCRIPTION] == "The forecast for a city."
    assert attrs(tool)[A.GEN_AI_TOOL_CALL_ID]
    assert FORECAST in attrs(tool)[A.GEN_AI_TOOL_CALL_RESULT]
    assert llms[0].end_time <= tool.start_time <= tool.end_time <= llms[1].start_time
    for span in (*llms, tool):
        assert ours(capture, span) is agent
        assert attrs(span)[A.AGENT_NAME] == "forecaster"
        assert attrs(span)[A.AGENT_ID] == a[A.AGENT_ID]
        assert attrs(span)[A.SESSION_ID] == "s1"
    for span in llms:
        assert span.name == f"chat {model}" and attrs(span)[A.COST_USD] > 0

    expected = usage_of(requests)
    assert server.total_usage()["input_tokens"] == expected[0]
    cost = sum(attrs(s)[A.COST_USD] for s in llms)
    for span in (root, agent):
        assert totals(span) == expected
        assert attrs(span)[A.LLM_CALLS] == 2
        assert attrs(span)[A.TOTAL_COST_USD] == pytest.approx(cost)
    assert counted(capture) == [s for s in capture.spans if s in llms]
    return agent


def test_agent_with_a_tool_round_trip(
    server: FakeLLMServer, capture: SpanCapture, instrumented: PydanticAIInstrumentor
) -> None:
    agent = weather_agent(server.openai_base_url)
    with capture.session():
        result = agent.run_sync(PROMPT)
    assert result.output == ANSWER
    spans = assert_weather_run(capture, server)
    assert [s.name for s in capture.children_of(spans)] == [
        f"chat {MODEL}",
        "execute_tool get_forecast",
        f"chat {MODEL}",
    ]


def test_unnamed_agent_takes_the_callers_variable_name(
    server: FakeLLMServer, capture: SpanCapture, instrumented: PydanticAIInstrumentor
) -> None:
    weather_bot = weather_agent(server.openai_base_url, name=None)
    with capture.session():
        asyncio.run(weather_bot.run(PROMPT))
    agent = one(capture.of_kind(A.KIND_AGENT))
    assert agent.name == "invoke_agent weather_bot"
    assert all(attrs(s)[A.AGENT_NAME] == "weather_bot" for s in capture.of_kind(A.KIND_LLM))


def test_streamed_run_is_counted_from_the_stream(
    server: FakeLLMServer, capture: SpanCapture, instrumented: PydanticAIInstrumentor
) -> None:
    agent = weather_agent(server.openai_base_url)

    async def main() -> str:
        async with agent.run_stream(PROMPT) as run:
            return "".join([delta async for delta in run.stream_text(delta=True)])

    with capture.session():
        assert asyncio.run(main()) == ANSWER
    llms = capture.of_kind(A.KIND_LLM)
    assert len(llms) == len(server.requests) == 2
    assert all(attrs(s)[A.GEN_AI_REQUEST_STREAM] for s in llms)
    agent_span = one(capture.of_kind(A.KIND_AGENT))
    assert totals(agent_span) == usage_of(server.requests)
    assert totals(one(capture.of_kind(A.KIND_SESSION))) == usage_of(server.requests)


@pytest.mark.parametrize("how", ["agent.instrument", "Agent.instrument_all"])
def test_pydantic_ai_own_spans_count_once(
    server: FakeLLMServer, capture: SpanCapture, instrumented: PydanticAIInstrumentor, how: str
) -> None:
    """With Pydantic AI's own instrumentation on, its spans nest inside ours and its
    model-request span is flagged a duplicate of the provider span beneath it."""
    settings = InstrumentationSettings(tracer_provider=capture.provider)
    agent = weather_agent(server.openai_base_url)
    if how == "agent.instrument":
        agent.instrument = settings
    else:
        Agent.instrument_all(settings)
    with capture.session():
        assert agent.run_sync(PROMPT).output == ANSWER
    assert_weather_run(capture, server)
    theirs = [s for s in capture.spans if A.SPAN_KIND not in attrs(s)]
    chats = [s for s in theirs if attrs(s).get(A.GEN_AI_OPERATION_NAME) == A.OP_CHAT]
    assert len(chats) == 2 and all(attrs(s)[A.LLM_DUPLICATE] for s in chats)
    for llm in capture.of_kind(A.KIND_LLM):
        assert capture.parent_of(llm) in chats  # the provider span beneath theirs
    agent_span = one(capture.of_kind(A.KIND_AGENT))
    for span in theirs:  # their run, model request and tool spans inherit the identity
        assert attrs(span)[A.AGENT_NAME] == "forecaster"
        assert attrs(span)[A.AGENT_ID] == attrs(agent_span)[A.AGENT_ID]


@pytest.mark.parametrize("own_spans", [False, True])
def test_anthropic_model_is_counted_by_the_anthropic_instrumentor(
    server: FakeLLMServer,
    capture: SpanCapture,
    instrumented: PydanticAIInstrumentor,
    own_spans: bool,
) -> None:
    anthropic = AnthropicInstrumentor()
    anthropic.instrument(tracer_provider=capture.provider)
    try:
        agent = anthropic_agent(server.anthropic_base_url)
        if own_spans:
            agent.instrument = InstrumentationSettings(tracer_provider=capture.provider)
        with capture.session():
            assert agent.run_sync(PROMPT).output == ANSWER
    finally:
        anthropic.uninstrument()
    assert all(r["path"] == "/v1/messages" for r in server.requests)
    assert_weather_run(capture, server, CLAUDE)
    assert all(attrs(s)[A.GEN_AI_PROVIDER_NAME] == "anthropic" for s in capture.of_kind(A.KIND_LLM))


def test_two_agents_delegating_through_a_tool(
    server: FakeLLMServer, capture: SpanCapture, instrumented: PydanticAIInstrumentor
) -> None:
    forecaster = weather_agent(server.openai_base_url)
    coordinator = coordinator_agent(server.openai_base_url, forecaster)
    with capture.session():
        result = coordinator.run_sync(PROMPT)
    assert FORECAST in result.output
    requests = server.requests
    own = {
        name: [r for r in requests if tool_names(r) == [tool]]
        for name, tool in (("coordinator", "ask_forecaster"), ("forecaster", "get_forecast"))
    }
    assert len(own["coordinator"]) == len(own["forecaster"]) == 2 and len(requests) == 4

    agents = {attrs(s)[A.AGENT_NAME]: s for s in capture.of_kind(A.KIND_AGENT)}
    assert set(agents) == {"coordinator", "forecaster"}
    delegate = next(
        s for s in capture.of_kind(A.KIND_TOOL) if s.name == "execute_tool ask_forecaster"
    )
    assert capture.parent_of(delegate) is agents["coordinator"]
    assert capture.parent_of(agents["forecaster"]) is delegate
    assert attrs(agents["coordinator"])[A.AGENT_ID] != attrs(agents["forecaster"])[A.AGENT_ID]
    for name, agent in agents.items():
        llms = [s for s in capture.of_kind(A.KIND_LLM) if capture.parent_of(s) is agent]
        assert len(llms) == 2
        assert all(attrs(s)[A.AGENT_NAME] == name for s in llms)
    assert (
        attrs(
            one([s for s in capture.of_kind(A.KIND_TOOL) if s.name == "execute_tool get_forecast"])
        )[A.AGENT_NAME]
        == "forecaster"
    )
    assert totals(agents["forecaster"]) == usage_of(own["forecaster"])
    assert totals(agents["coordinator"]) == usage_of(requests)  # the delegate's calls included
    assert totals(one(capture.of_kind(A.KIND_SESSION))) == usage_of(requests)
    assert attrs(delegate)[A.LLM_CALLS] == 2


class Boom(Exception):
    """The user's own exception, raised by a tool."""


def test_user_exception_passes_through_and_marks_spans(
    server: FakeLLMServer, capture: SpanCapture, instrumented: PydanticAIInstrumentor
) -> None:
    boom = Boom("forecast service down")
    agent = Agent(weather_agent(server.openai_base_url).model, name="forecaster")

    @agent.tool_plain
    def get_forecast(city: str) -> str:
        """The forecast for a city."""
        raise boom

    with capture.session(), pytest.raises(Boom) as info:
        agent.run_sync(PROMPT)
    assert info.value is boom
    tool = one(capture.of_kind(A.KIND_TOOL))
    agent_span = one(capture.of_kind(A.KIND_AGENT))
    for span in (tool, agent_span):
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)[A.ERROR_TYPE] == "Boom"
    assert attrs(agent_span)[A.ERRORS] == 1  # counted once, on the tool
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests) == 1


def test_uninstrument_restores_pydantic_ai(
    server: FakeLLMServer, capture: SpanCapture, openai_instrumented: None
) -> None:
    originals = (Agent.__dict__["iter"], FunctionToolset.__dict__["call_tool"])
    instrumentor = PydanticAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    assert isinstance(Agent.__dict__["iter"], wrapt.FunctionWrapper)
    assert isinstance(FunctionToolset.__dict__["call_tool"], wrapt.FunctionWrapper)
    instrumentor.uninstrument()
    assert (Agent.__dict__["iter"], FunctionToolset.__dict__["call_tool"]) == originals

    with capture.session():
        assert weather_agent(server.openai_base_url).run_sync(PROMPT).output == ANSWER
    kinds = {attrs(s)[A.SPAN_KIND] for s in capture.spans}
    assert kinds == {A.KIND_SESSION, A.KIND_LLM}  # the openai spans remain, ours are gone
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests)


def test_moved_internal_method_degrades_to_fewer_spans(
    server: FakeLLMServer,
    capture: SpanCapture,
    openai_instrumented: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(
        agentops_pydantic_ai,
        "_TOOL_CALL",
        ("pydantic_ai.toolsets.function", "FunctionToolset.call_tool_moved"),
    )
    instrumentor = PydanticAIInstrumentor()
    with caplog.at_level(logging.DEBUG, logger="agentops_otel.instrumentation"):
        instrumentor.instrument(tracer_provider=capture.provider)
    try:
        moved = [r for r in caplog.records if "call_tool_moved" in r.getMessage()]
        assert len(moved) == 1 and moved[0].levelno == logging.DEBUG
        with capture.session():
            assert weather_agent(server.openai_base_url).run_sync(PROMPT).output == ANSWER
    finally:
        instrumentor.uninstrument()
    assert not capture.of_kind(A.KIND_TOOL)
    assert_calls_under(capture, one(capture.of_kind(A.KIND_AGENT)), server.requests)
