"""AG2 1.x (``import ag2``) against the fake LLM server: span tree, totals, costs."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
import wrapt
from ag2 import Agent, tool
from ag2.config import OpenAIConfig
from opentelemetry.trace import StatusCode

from agentops_ag2 import AG2Instrumentor, _v1
from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture
from conftest import CONTENT_KEYS, assert_totals, attr, in_session


def _config(server: FakeLLMServer) -> OpenAIConfig:
    return OpenAIConfig(
        model="gpt-4o-mini", api_key="sk-test", base_url=server.openai_base_url, max_retries=0
    )


@tool
def get_weather(city: str) -> str:
    """Weather in a city."""
    return f"sunny in {city}"


def _by_start(spans: list[Any]) -> list[Any]:
    return sorted(spans, key=lambda s: s.start_time)


def test_delegating_conversation(capture: SpanCapture, server: FakeLLMServer) -> None:
    """A coordinator delegates to a researcher agent (which calls a tool), over two turns."""
    researcher = Agent(
        "researcher", "You research the weather.", config=_config(server), tools=[get_weather]
    )
    coordinator = Agent(
        "coordinator",
        "You coordinate weather reports.",
        config=_config(server),
        tools=[researcher.as_tool(description="Researches the weather")],
    )

    async def converse() -> list[Any]:
        first = await coordinator.ask("Weather report for Paris")
        second = await first.ask("Thanks, and tomorrow?")
        return [first, second]

    replies = in_session(capture, lambda: asyncio.run(converse()))

    assert all(r.body for r in replies)
    (session,) = capture.of_kind(A.KIND_SESSION)
    turns = _by_start(
        [s for s in capture.of_kind(A.KIND_AGENT) if s.name == "invoke_agent coordinator"]
    )
    assert len(turns) == 2
    assert all(capture.parent_of(t) is session for t in turns)
    assert attr(turns[0], A.AGENT_ROLE) == "You coordinate weather reports."
    # The continued conversation keeps its stream: one conversation id for both turns.
    assert attr(turns[0], A.GEN_AI_CONVERSATION_ID)
    assert attr(turns[0], A.GEN_AI_CONVERSATION_ID) == attr(turns[1], A.GEN_AI_CONVERSATION_ID)
    assert json.loads(attr(turns[0], A.INPUT)) == "Weather report for Paris"
    assert json.loads(attr(turns[1], A.OUTPUT)) == replies[1].body

    for turn in turns:
        (delegation,) = [
            s for s in capture.children_of(turn) if attr(s, A.SPAN_KIND) == A.KIND_TOOL
        ]
        assert delegation.name == "execute_tool task_researcher"  # AG2 names it
        (research,) = capture.children_of(delegation)
        assert research.name == "invoke_agent researcher"
        assert attr(research, A.AGENT_ROLE) == "You research the weather."
        (weather,) = [
            s for s in capture.children_of(research) if attr(s, A.SPAN_KIND) == A.KIND_TOOL
        ]
        assert weather.name == "execute_tool get_weather"
        assert attr(weather, A.AGENT_NAME) == "researcher"
        assert json.loads(attr(weather, A.GEN_AI_TOOL_CALL_RESULT)) == "sunny in test"
        assert attr(weather, A.GEN_AI_TOOL_CALL_ID)
        # Two model calls by each agent per turn, each under the agent that made it.
        for agent in (turn, research):
            calls = [s for s in capture.children_of(agent) if attr(s, A.SPAN_KIND) == A.KIND_LLM]
            assert len(calls) == 2
            assert all(attr(c, A.AGENT_NAME) == attr(agent, A.AGENT_NAME) for c in calls)
        assert attr(turn, A.LLM_CALLS) == 4
        assert attr(research, A.LLM_CALLS) == 2

    assert len(server.requests) == 8
    llm = _by_start(capture.of_kind(A.KIND_LLM))
    assert all(s.name == "chat gpt-4o-mini" for s in llm)
    for call, request in zip(llm, server.requests, strict=True):
        assert attr(call, A.GEN_AI_USAGE_INPUT_TOKENS) == request["usage"]["input_tokens"]
    assert_totals(capture, server)


def test_two_agents_taking_turns(capture: SpanCapture, server: FakeLLMServer) -> None:
    """Two agents answering each other for three turns, each on its own conversation."""
    writer = Agent("writer", "You write haiku.", config=_config(server))
    critic = Agent("critic", "You critique haiku.", config=_config(server))

    async def converse() -> None:
        message = "Write a haiku about tests"
        draft = await writer.ask(message)
        review = await critic.ask(draft.body)
        await draft.ask(review.body)

    in_session(capture, lambda: asyncio.run(converse()))

    agents = _by_start(capture.of_kind(A.KIND_AGENT))
    assert [s.name for s in agents] == [
        "invoke_agent writer",
        "invoke_agent critic",
        "invoke_agent writer",
    ]
    llm = _by_start(capture.of_kind(A.KIND_LLM))
    assert len(llm) == 3
    for agent, call, request in zip(agents, llm, server.requests, strict=True):
        assert capture.parent_of(call) is agent
        assert attr(agent, A.TOTAL_INPUT_TOKENS) == request["usage"]["input_tokens"]
        assert attr(agent, A.TOTAL_OUTPUT_TOKENS) == request["usage"]["output_tokens"]
    assert_totals(capture, server)


def test_failing_tool_marks_its_span(capture: SpanCapture, server: FakeLLMServer) -> None:
    @tool
    def get_weather(city: str) -> str:
        """Weather in a city."""
        raise RuntimeError("station offline")

    agent = Agent("forecaster", config=_config(server), tools=[get_weather])
    in_session(capture, lambda: asyncio.run(agent.ask("Weather?")))

    (span,) = capture.of_kind(A.KIND_TOOL)
    assert span.status.status_code == StatusCode.ERROR
    assert attr(span, A.ERROR_TYPE) == "RuntimeError"
    (turn,) = capture.of_kind(A.KIND_AGENT)
    assert attr(turn, A.AGENT_ROLE) is None  # no prompt, no role
    assert capture.parent_of(span) is turn
    assert_totals(capture, server)


def test_user_exception_passes_through(capture: SpanCapture, server: FakeLLMServer) -> None:
    """A model error reaches the caller unchanged; the agent span records it."""
    agent = Agent(
        "broken",
        config=OpenAIConfig(
            model="error-500", api_key="sk-test", base_url=server.openai_base_url, max_retries=0
        ),
    )
    caught: list[BaseException] = []

    async def run() -> None:
        try:
            await agent.ask("hi")
        except Exception as exc:
            caught.append(exc)
            raise

    with pytest.raises(Exception) as raised:
        in_session(capture, lambda: asyncio.run(run()))

    assert raised.value is caught[0]
    (turn,) = capture.of_kind(A.KIND_AGENT)
    assert turn.status.status_code == StatusCode.ERROR
    assert attr(turn, A.ERROR_TYPE) == type(raised.value).__qualname__


def test_uninstrument_restores(capture: SpanCapture, server: FakeLLMServer) -> None:
    AG2Instrumentor().uninstrument()
    assert not isinstance(Agent.__dict__["_turn_scope"], wrapt.FunctionWrapper)
    agent = Agent("forecaster", config=_config(server), tools=[get_weather])

    asyncio.run(agent.ask("Weather?"))

    assert len(capture.of_kind(A.KIND_LLM)) == 2  # the openai instrumentor still runs
    assert not [s for s in capture.spans if attr(s, A.SPAN_KIND) != A.KIND_LLM]
    AG2Instrumentor().instrument(tracer_provider=capture.provider)  # for the fixture teardown


def test_moved_method_degrades(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A release that renames the turn scope: no AG2 spans and a debug log, nothing raised."""
    monkeypatch.setattr(_v1, "_TURN_SCOPE", ("ag2.agent", "Agent._turn_scope_v2"))
    capture = SpanCapture()
    with caplog.at_level(logging.DEBUG, logger="agentops_otel.instrumentation"):
        AG2Instrumentor().instrument(tracer_provider=capture.provider)
    try:
        assert "_turn_scope_v2 not found" in caplog.text
        reply = asyncio.run(Agent("forecaster", config=_config(server)).ask("Weather?"))
        assert reply.body
        assert not capture.spans
    finally:
        AG2Instrumentor().uninstrument()
        capture.shutdown()


def test_observable_run(capture: SpanCapture, server: FakeLLMServer) -> None:
    """``Agent.run`` (the observable turn, driven in a scope-owned task) gets the same tree."""
    agent = Agent("forecaster", "You forecast.", config=_config(server), tools=[get_weather])

    async def run() -> Any:
        async with agent.run("Weather in Oslo?") as turn:
            return (await turn.result()).body

    body = in_session(capture, lambda: asyncio.run(run()))

    assert body == "The tool returned: sunny in test"
    (session,) = capture.of_kind(A.KIND_SESSION)
    (turn,) = capture.of_kind(A.KIND_AGENT)
    assert capture.parent_of(turn) is session
    (weather,) = capture.of_kind(A.KIND_TOOL)
    assert capture.parent_of(weather) is turn
    assert all(capture.parent_of(s) is turn for s in capture.of_kind(A.KIND_LLM))
    assert_totals(capture, server)


def test_with_ag2_telemetry_middleware(capture: SpanCapture, server: FakeLLMServer) -> None:
    """AG2's own TelemetryMiddleware beside ours: its chat span is flagged, nothing counts twice."""
    from ag2.middleware import TelemetryMiddleware

    agent = Agent(
        "forecaster",
        config=_config(server),
        tools=[get_weather],
        middleware=[TelemetryMiddleware(tracer_provider=capture.provider, agent_name="forecaster")],
    )
    in_session(capture, lambda: asyncio.run(agent.ask("Weather?")))

    theirs = [
        s
        for s in capture.spans
        if s.instrumentation_scope.name != "agentops_ag2"
        and A.SPAN_KIND not in (s.attributes or {})
    ]
    chats = [s for s in theirs if s.name.startswith("chat")]
    assert len(chats) == 2
    assert all(attr(s, A.LLM_DUPLICATE) is True for s in chats)
    ours = capture.of_kind(A.KIND_LLM)
    assert {capture.parent_of(s).name for s in ours} == {"chat gpt-4o-mini"}
    assert_totals(capture, server)


@pytest.mark.usefixtures("no_content")
def test_content_off(capture: SpanCapture, server: FakeLLMServer) -> None:
    agent = Agent("forecaster", "You forecast.", config=_config(server), tools=[get_weather])
    in_session(capture, lambda: asyncio.run(agent.ask("Weather?")))

    assert len(capture.of_kind(A.KIND_TOOL)) == 1
    assert len(capture.of_kind(A.KIND_AGENT)) == 1
    assert not [k for s in capture.spans for k in CONTENT_KEYS if k in (s.attributes or {})]
    assert_totals(capture, server)
