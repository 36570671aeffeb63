"""AG2 classic (ag2 0.x, ``import autogen``) against the fake LLM server: tree, totals, costs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import wrapt
from autogen import Agent, ConversableAgent, GroupChat, GroupChatManager, register_function
from opentelemetry.trace import StatusCode

from agentops_ag2 import AG2Instrumentor, _classic
from agentops_otel import semconv as A
from agentops_otel._threads import ThreadingInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture
from conftest import CONTENT_KEYS, assert_totals, attr, in_session


def _llm_config(server: FakeLLMServer) -> dict[str, Any]:
    return {
        "config_list": [
            {
                "model": "gpt-4o-mini",
                "api_key": "sk-test",
                "base_url": server.openai_base_url,
                "api_type": "openai",
            }
        ],
        "cache_seed": None,
    }


def _agent(name: str, llm_config: Any, **kwargs: Any) -> ConversableAgent:
    return ConversableAgent(
        name, llm_config=llm_config, human_input_mode="NEVER", code_execution_config=False, **kwargs
    )


def get_weather(city: str) -> str:
    return f"sunny in {city}"


def _tool_pair(
    server: FakeLLMServer, tool: Any = get_weather
) -> tuple[ConversableAgent, ConversableAgent]:
    """An assistant that calls ``tool`` and a user agent (no LLM) that executes it."""
    assistant = _agent(
        "assistant",
        _llm_config(server),
        system_message="Use the tools.",
        description="Answers with tools",
    )
    user = _agent("user", False)
    register_function(tool, caller=assistant, executor=user, description="Weather in a city")
    return assistant, user


def _agent_spans(capture: SpanCapture) -> list[Any]:
    return sorted(capture.of_kind(A.KIND_AGENT), key=lambda s: s.start_time)


def test_two_agents_conversing(capture: SpanCapture, server: FakeLLMServer) -> None:
    writer = _agent(
        "writer", _llm_config(server), system_message="You write haiku.", description="Writes haiku"
    )
    critic = _agent(
        "critic",
        _llm_config(server),
        system_message="You critique haiku.",
        description="Critiques haiku",
    )

    result = in_session(
        capture,
        lambda: writer.initiate_chat(critic, message="Write a haiku about tests", max_turns=2),
    )

    assert len(result.chat_history) == 4
    (session,) = capture.of_kind(A.KIND_SESSION)
    (workflow,) = capture.of_kind(A.KIND_WORKFLOW)
    assert workflow.name == "invoke_workflow writer -> critic"
    assert capture.parent_of(workflow) is session
    # ChatResult.chat_id exists from ag2 0.10 on (None before).
    chat_id = None if result.chat_id is None else str(result.chat_id)
    assert attr(workflow, A.GEN_AI_CONVERSATION_ID) == chat_id
    assert json.loads(attr(workflow, A.INPUT)) == "Write a haiku about tests"

    agents = _agent_spans(capture)
    assert [s.name for s in agents] == [
        "invoke_agent critic",
        "invoke_agent writer",
        "invoke_agent critic",
    ]
    assert all(capture.parent_of(s) is workflow for s in agents)
    assert attr(agents[0], A.AGENT_ROLE) == "Critiques haiku"
    assert attr(agents[1], A.GEN_AI_AGENT_DESCRIPTION) == "Writes haiku"
    assert attr(agents[1], A.AGENT_ID) != attr(agents[0], A.AGENT_ID)

    # One LLM span per request, under the agent that asked, carrying its identity and usage.
    llm = sorted(capture.of_kind(A.KIND_LLM), key=lambda s: s.start_time)
    assert len(llm) == len(server.requests) == 3
    for agent, call, request in zip(agents, llm, server.requests, strict=True):
        assert capture.parent_of(call) is agent
        assert call.name == "chat gpt-4o-mini"
        assert attr(call, A.AGENT_NAME) == attr(agent, A.AGENT_NAME)
        assert attr(call, A.AGENT_ROLE) == attr(agent, A.AGENT_ROLE)
        assert attr(call, A.SESSION_ID) == "s1"
        assert attr(agent, A.TOTAL_INPUT_TOKENS) == request["usage"]["input_tokens"]
        assert attr(agent, A.TOTAL_OUTPUT_TOKENS) == request["usage"]["output_tokens"]
    assert attr(workflow, A.LLM_CALLS) == 3
    assert_totals(capture, server)


def test_tool_round_trip(capture: SpanCapture, server: FakeLLMServer) -> None:
    assistant, user = _tool_pair(server)

    in_session(
        capture, lambda: user.initiate_chat(assistant, message="Weather in Paris?", max_turns=2)
    )

    (workflow,) = capture.of_kind(A.KIND_WORKFLOW)
    assert workflow.name == "invoke_workflow user -> assistant"
    agents = _agent_spans(capture)
    assert [s.name for s in agents] == [
        "invoke_agent assistant",
        "invoke_agent user",
        "invoke_agent assistant",
    ]
    (tool,) = capture.of_kind(A.KIND_TOOL)
    assert tool.name == "execute_tool get_weather"
    assert capture.parent_of(tool) is agents[1]
    assert attr(tool, A.AGENT_NAME) == "user"
    assert json.loads(attr(tool, A.GEN_AI_TOOL_CALL_ARGUMENTS)) == {"city": "test"}
    assert json.loads(attr(tool, A.GEN_AI_TOOL_CALL_RESULT)) == "sunny in test"
    tool_message = server.requests[1]["body"]["messages"][-1]
    assert attr(tool, A.GEN_AI_TOOL_CALL_ID) == tool_message["tool_call_id"]
    assert tool.status.status_code != StatusCode.ERROR

    llm = capture.of_kind(A.KIND_LLM)
    assert {capture.parent_of(s).name for s in llm} == {"invoke_agent assistant"}
    # The second request carries the tool result the tool span recorded.
    assert tool_message["content"] == "sunny in test"
    assert_totals(capture, server)


@pytest.fixture
def threads() -> Iterator[None]:
    """Context carried into threads and executors, as ``init()`` does."""
    ThreadingInstrumentor().instrument()
    yield
    ThreadingInstrumentor().uninstrument()


@pytest.mark.usefixtures("threads")  # a_generate_oai_reply calls the model in an executor
def test_async_tool_round_trip(capture: SpanCapture, server: FakeLLMServer) -> None:
    assistant, user = _tool_pair(server)

    async def run() -> Any:
        return await user.a_initiate_chat(assistant, message="Weather in Rome?", max_turns=2)

    in_session(capture, lambda: asyncio.run(run()))

    (workflow,) = capture.of_kind(A.KIND_WORKFLOW)
    agents = _agent_spans(capture)
    assert [s.name for s in agents] == [
        "invoke_agent assistant",
        "invoke_agent user",
        "invoke_agent assistant",
    ]
    assert all(capture.parent_of(s) is workflow for s in agents)
    (tool,) = capture.of_kind(A.KIND_TOOL)
    assert capture.parent_of(tool) is agents[1]
    for call in capture.of_kind(A.KIND_LLM):
        assert capture.parent_of(call).name == "invoke_agent assistant"
    assert_totals(capture, server)


def test_failing_tool_marks_its_span(capture: SpanCapture, server: FakeLLMServer) -> None:
    def get_weather(city: str) -> str:
        raise RuntimeError("station offline")

    assistant, user = _tool_pair(server, get_weather)
    in_session(capture, lambda: user.initiate_chat(assistant, message="Weather?", max_turns=2))

    (tool,) = capture.of_kind(A.KIND_TOOL)
    assert tool.status.status_code == StatusCode.ERROR
    assert attr(tool, A.ERROR_TYPE) == "ToolError"
    assert "station offline" in server.requests[1]["body"]["messages"][-1]["content"]
    assert_totals(capture, server)


def test_group_chat(capture: SpanCapture, server: FakeLLMServer) -> None:
    config = _llm_config(server)
    alice = _agent("alice", config, description="Proposes ideas")
    bob = _agent("bob", config, description="Reviews ideas")
    user = _agent("user", False)
    chat = GroupChat(
        agents=[user, alice, bob], messages=[], max_round=3, speaker_selection_method="round_robin"
    )
    manager = GroupChatManager(chat, llm_config=config, name="manager")

    in_session(capture, lambda: user.initiate_chat(manager, message="Plan a picnic"))

    (conversation,) = [
        s for s in capture.of_kind(A.KIND_WORKFLOW) if s.name == "invoke_workflow user -> manager"
    ]
    (group,) = capture.named("invoke_workflow manager")
    (manager_span,) = capture.named("invoke_agent manager")
    assert capture.parent_of(manager_span) is conversation
    assert capture.parent_of(group) is manager_span
    speakers = sorted(
        (s for s in capture.of_kind(A.KIND_AGENT) if capture.parent_of(s) is group),
        key=lambda s: s.start_time,
    )
    assert [s.name for s in speakers] == ["invoke_agent alice", "invoke_agent bob"]
    for call in capture.of_kind(A.KIND_LLM):
        assert capture.parent_of(call) in speakers
    assert attr(group, A.LLM_CALLS) == 2
    assert_totals(capture, server)


class ReplyFailed(Exception):
    pass


def test_user_exception_passes_through(capture: SpanCapture, server: FakeLLMServer) -> None:
    error = ReplyFailed("no reply")

    def failing_reply(
        recipient: Any, messages: Any = None, sender: Any = None, config: Any = None
    ) -> tuple[bool, Any]:
        raise error

    writer = _agent("writer", False)
    critic = _agent("critic", False)
    critic.register_reply([Agent, None], failing_reply)

    with pytest.raises(ReplyFailed) as raised:
        in_session(capture, lambda: writer.initiate_chat(critic, message="hi", max_turns=1))

    assert raised.value is error
    (agent,) = capture.of_kind(A.KIND_AGENT)
    (workflow,) = capture.of_kind(A.KIND_WORKFLOW)
    for span in (agent, workflow):
        assert span.status.status_code == StatusCode.ERROR
        assert attr(span, A.ERROR_TYPE) == "ReplyFailed"


def test_uninstrument_restores(capture: SpanCapture, server: FakeLLMServer) -> None:
    instrumented = ConversableAgent.__dict__["generate_reply"]
    AG2Instrumentor().uninstrument()
    assert ConversableAgent.__dict__["generate_reply"] is not instrumented
    assert not isinstance(ConversableAgent.__dict__["generate_reply"], wrapt.FunctionWrapper)
    assistant, user = _tool_pair(server)

    user.initiate_chat(assistant, message="Weather?", max_turns=2)

    assert capture.of_kind(A.KIND_LLM)  # the openai instrumentor still runs
    assert not [s for s in capture.spans if attr(s, A.SPAN_KIND) != A.KIND_LLM]
    AG2Instrumentor().instrument(tracer_provider=capture.provider)  # for the fixture teardown


def test_moved_method_degrades(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A release that renames a wrapped method: fewer spans and a debug log, nothing raised."""
    moved = [
        t if t[2] != "execute_function" else (*t[:2], "execute_function_v2", *t[3:])
        for t in _classic._TARGETS
    ]
    monkeypatch.setattr(_classic, "_TARGETS", moved)
    capture = SpanCapture()
    with caplog.at_level(logging.DEBUG, logger="agentops_otel.instrumentation"):
        AG2Instrumentor().instrument(tracer_provider=capture.provider)
    try:
        assert "execute_function_v2 not found" in caplog.text
        server.clear()
        assistant, user = _tool_pair(server)
        user.initiate_chat(assistant, message="Weather?", max_turns=2)
        assert not capture.of_kind(A.KIND_TOOL)
        assert len(capture.of_kind(A.KIND_AGENT)) == 3
        assert len(server.requests) == 2
    finally:
        AG2Instrumentor().uninstrument()
        capture.shutdown()


@pytest.mark.usefixtures("no_content")
def test_content_off(capture: SpanCapture, server: FakeLLMServer) -> None:
    assistant, user = _tool_pair(server)
    in_session(capture, lambda: user.initiate_chat(assistant, message="Weather?", max_turns=2))

    assert len(capture.of_kind(A.KIND_TOOL)) == 1
    assert len(capture.of_kind(A.KIND_AGENT)) == 3
    assert not [k for s in capture.spans for k in CONTENT_KEYS if k in (s.attributes or {})]
    assert_totals(capture, server)


@pytest.mark.usefixtures("threads")
def test_run_api(capture: SpanCapture, server: FakeLLMServer) -> None:
    """``ConversableAgent.run`` drives ``initiate_chat`` on a thread: same tree under init()."""
    assistant, user = _tool_pair(server)

    def run() -> None:
        response = user.run(assistant, message="Weather in Lima?", max_turns=2)
        response.process()

    in_session(capture, run)

    (session,) = capture.of_kind(A.KIND_SESSION)
    (workflow,) = capture.of_kind(A.KIND_WORKFLOW)
    assert capture.parent_of(workflow) is session
    assert len(capture.of_kind(A.KIND_TOOL)) == 1
    for call in capture.of_kind(A.KIND_LLM):
        assert capture.parent_of(call).name == "invoke_agent assistant"
    assert_totals(capture, server)
