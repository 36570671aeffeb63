"""AutoGen AgentChat teams, agents and tools as our spans, against the real framework and the
fake server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import CancellationToken
from autogen_core.tools import FunctionTool
from opentelemetry import trace as otel_trace

from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture

WEATHER_PROMPT = "You are the weather agent."
WRITER_PROMPT = "You are the writer."


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _team(model_client: Callable[..., Any], **client_args: Any) -> RoundRobinGroupChat:
    """Two assistants taking turns, the first with a tool; four messages end the run."""
    weather = AssistantAgent(
        "weather",
        model_client=model_client(**client_args),
        tools=[get_weather],
        description="Looks up the weather",
        system_message=WEATHER_PROMPT,
        reflect_on_tool_use=True,
        model_client_stream=bool(client_args),
    )
    writer = AssistantAgent(
        "writer",
        model_client=model_client(**client_args),
        description="Writes the answer",
        system_message=WRITER_PROMPT,
        model_client_stream=bool(client_args),
    )
    return RoundRobinGroupChat([weather, writer], termination_condition=MaxMessageTermination(4))


def _in_session(capture: SpanCapture, run: Callable[[], Any]) -> Any:
    """Run ``run`` under a session span made current, as init() would."""
    with capture.session() as session:
        result = run()
        assert otel_trace.get_current_span() is session  # nothing of ours left attached
        return result


async def _team_run(team: RoundRobinGroupChat, task: str) -> TaskResult:
    return await team.run(task=task)


async def _team_run_stream(team: RoundRobinGroupChat, task: str) -> TaskResult:
    result = None
    async for item in team.run_stream(task=task):
        if isinstance(item, TaskResult):
            result = item
    assert result is not None
    return result


def _sum(requests: list[dict[str, Any]], key: str) -> int:
    return sum(r["usage"][key] for r in requests)


def _by_agent(requests: list[dict[str, Any]], prompt: str) -> list[dict[str, Any]]:
    return [r for r in requests if r["body"]["messages"][0]["content"] == prompt]


def _one(capture: SpanCapture, name: str) -> Any:
    spans = capture.named(name)
    assert len(spans) == 1, [s.name for s in capture.spans]
    return spans[0]


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("entry", [_team_run, _team_run_stream])
def test_round_robin_team(
    capture: SpanCapture,
    server: FakeLLMServer,
    model_client: Callable[..., Any],
    entry: Any,
    streaming: bool,
) -> None:
    client_args = {"stream_options": {"include_usage": True}} if streaming else {}
    team = _team(model_client, **client_args)
    result = _in_session(capture, lambda: asyncio.run(entry(team, "weather in Paris?")))
    assert result.stop_reason.startswith("Maximum number of messages 4 reached")

    requests = server.requests
    assert len(requests) == 5 and all(r["usage"] for r in requests)
    assert all(r["stream"] is streaming for r in requests)
    session = _one(capture, "session test")
    workflow = _one(capture, "invoke_workflow RoundRobinGroupChat")
    weather_turns = capture.named("invoke_agent weather")
    (writer,) = capture.named("invoke_agent writer")
    tools = capture.named("execute_tool get_weather")
    llms = capture.of_kind(A.KIND_LLM)
    assert len(weather_turns) == 2 and len(tools) == 2 and len(llms) == 5
    # Nothing but ours: autogen-core's own GenAI spans are not produced twice.
    assert len(capture.spans) == 1 + 1 + 3 + 2 + 5

    # The tree: session → team → a span per agent turn → its LLM calls and tool calls.
    assert capture.parent_of(workflow) is session
    for turn in [*weather_turns, writer]:
        assert capture.parent_of(turn) is workflow
        assert turn.attributes[A.SPAN_KIND] == A.KIND_AGENT
    for tool in tools:
        assert capture.parent_of(tool) in weather_turns
        assert tool.attributes[A.SPAN_KIND] == A.KIND_TOOL
        assert json.loads(tool.attributes[A.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"city": "test"}
        assert json.loads(tool.attributes[A.GEN_AI_TOOL_CALL_RESULT]) == "sunny in test"
        assert tool.attributes[A.GEN_AI_TOOL_CALL_ID].startswith("call_")
    parents = [capture.parent_of(s) for s in llms]
    assert parents.count(writer) == 1
    assert [parents.count(t) for t in weather_turns] == [2, 2]  # tool call, then reflection
    assert workflow.attributes[A.GEN_AI_WORKFLOW_NAME] == "RoundRobinGroupChat"
    assert json.loads(workflow.attributes[A.INPUT]) == "weather in Paris?"
    assert json.loads(workflow.attributes[A.OUTPUT])["stop_reason"] == result.stop_reason

    # Identity: name and role (the agent's description) on every span beneath each turn.
    for turn, role in [
        *((t, "Looks up the weather") for t in weather_turns),
        (writer, "Writes the answer"),
    ]:
        assert turn.attributes[A.AGENT_ROLE] == role
        for child in capture.children_of(turn):
            assert child.attributes[A.AGENT_NAME] == turn.attributes[A.AGENT_NAME]
            assert child.attributes[A.AGENT_ROLE] == role
            assert child.attributes[A.SESSION_ID] == "s1"
    assert json.loads(writer.attributes[A.OUTPUT]).startswith("Fake reply from gpt-4o-mini")

    # Totals equal the server's request log, per agent and per session.
    weather_requests = _by_agent(requests, WEATHER_PROMPT)
    writer_requests = _by_agent(requests, WRITER_PROMPT)
    assert len(weather_requests) == 4 and len(writer_requests) == 1
    for spans, reqs in (
        ([session], requests),
        ([workflow], requests),
        ([writer], writer_requests),
        (weather_turns, weather_requests),
    ):
        assert sum(s.attributes[A.TOTAL_INPUT_TOKENS] for s in spans) == _sum(reqs, "input_tokens")
        assert sum(s.attributes[A.TOTAL_OUTPUT_TOKENS] for s in spans) == _sum(
            reqs, "output_tokens"
        )
        assert sum(s.attributes[A.LLM_CALLS] for s in spans) == len(reqs)
    cost = sum(s.attributes[A.COST_USD] for s in llms)
    assert cost > 0
    assert session.attributes[A.TOTAL_COST_USD] == pytest.approx(cost)


@pytest.mark.parametrize("how", ["run", "run_stream", "on_messages"])
def test_single_agent_is_one_agent_span(
    capture: SpanCapture, server: FakeLLMServer, model_client: Callable[..., Any], how: str
) -> None:
    """run → on_messages → on_messages_stream is one invocation: one agent span."""
    agent = AssistantAgent(
        "solo", model_client=model_client(), tools=[get_weather], description="Works alone"
    )

    async def go() -> None:
        if how == "run":
            await agent.run(task="weather?")
        elif how == "run_stream":
            async for _ in agent.run_stream(task="weather?"):
                pass
        else:
            await agent.on_messages(
                [TextMessage(content="weather?", source="user")], CancellationToken()
            )

    _in_session(capture, lambda: asyncio.run(go()))
    solo = _one(capture, "invoke_agent solo")
    tool = _one(capture, "execute_tool get_weather")
    llms = capture.of_kind(A.KIND_LLM)
    assert len(llms) == len(server.requests) == 1  # no reflection: the tool result is the answer
    assert capture.parent_of(tool) is solo and capture.parent_of(llms[0]) is solo
    assert capture.parent_of(solo) is _one(capture, "session test")
    assert json.loads(solo.attributes[A.INPUT]) == ["weather?"]
    assert solo.attributes[A.AGENT_ROLE] == "Works alone"
    assert solo.attributes[A.TOTAL_INPUT_TOKENS] == _sum(server.requests, "input_tokens")


ERROR = KeyError("boom")


def broken(city: str) -> str:
    """Always fails."""
    raise ERROR


def test_tool_errors(
    capture: SpanCapture, server: FakeLLMServer, model_client: Callable[..., Any]
) -> None:
    # Called directly, the user's exception object comes out unchanged.
    tool = FunctionTool(broken, description="Always fails")
    with pytest.raises(KeyError) as caught:
        asyncio.run(tool.run_json({"city": "x"}, CancellationToken(), call_id="c1"))
    assert caught.value is ERROR
    span = _one(capture, "execute_tool broken")
    assert span.status.status_code.name == "ERROR" and span.attributes[A.ERROR_TYPE] == "KeyError"
    assert span.attributes[A.GEN_AI_TOOL_CALL_ID] == "c1"

    # Inside an agent, AgentChat turns the failure into an error result for the model.
    capture.clear()
    agent = AssistantAgent("fragile", model_client=model_client(), tools=[broken])
    asyncio.run(agent.run(task="weather?"))
    tool_span = _one(capture, "execute_tool broken")
    assert tool_span.status.status_code.name == "ERROR"
    assert capture.parent_of(tool_span) is _one(capture, "invoke_agent fragile")


def test_model_error_passes_through(
    capture: SpanCapture, server: FakeLLMServer, model_client: Callable[..., Any]
) -> None:
    import openai

    agent = AssistantAgent("unlucky", model_client=model_client(model="error-500"))
    with pytest.raises(openai.InternalServerError):
        asyncio.run(agent.run(task="hi"))
    (llm,) = capture.of_kind(A.KIND_LLM)
    unlucky = _one(capture, "invoke_agent unlucky")
    assert capture.parent_of(llm) is unlucky
    assert unlucky.status.status_code.name == "ERROR"
    assert unlucky.attributes[A.ERROR_TYPE] == "InternalServerError"


def test_uninstrument_restores_autogen(
    capture: SpanCapture, server: FakeLLMServer, model_client: Callable[..., Any]
) -> None:
    import autogen_agentchat.agents._base_chat_agent as base_agent
    import autogen_core
    from autogen_agentchat.teams._group_chat._base_group_chat import BaseGroupChat

    from agentops_autogen import AutoGenInstrumentor

    AutoGenInstrumentor().uninstrument()
    assert base_agent.trace_invoke_agent_span is autogen_core.trace_invoke_agent_span
    assert not hasattr(BaseGroupChat.__dict__["run_stream"], "__wrapped__")
    asyncio.run(_team_run(_team(model_client), "weather in Paris?"))
    assert {s.attributes[A.SPAN_KIND] for s in capture.spans} == {A.KIND_LLM}

    AutoGenInstrumentor().instrument(tracer_provider=capture.provider)
    capture.clear()
    asyncio.run(_team_run(_team(model_client), "weather in Paris?"))
    assert _one(capture, "invoke_workflow RoundRobinGroupChat")


def test_moved_internal_method_degrades(
    capture: SpanCapture,
    server: FakeLLMServer,
    model_client: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A team module that moved: no workflow span, a debug log, agents still traced."""
    import agentops_autogen
    from agentops_autogen import AutoGenInstrumentor

    AutoGenInstrumentor().uninstrument()
    monkeypatch.setattr(agentops_autogen, "_TEAM", "autogen_agentchat.teams._moved")
    with caplog.at_level("DEBUG", logger="agentops_otel.instrumentation"):
        AutoGenInstrumentor().instrument(tracer_provider=capture.provider)
    assert "autogen_agentchat.teams._moved" in caplog.text
    asyncio.run(_team_run(_team(model_client), "weather in Paris?"))
    assert not capture.of_kind(A.KIND_WORKFLOW)
    assert len(capture.named("invoke_agent weather")) == 2
    assert len(capture.of_kind(A.KIND_LLM)) == 5


def _global_app(server: FakeLLMServer, mode: str, tmp_path: Any) -> list[dict[str, Any]]:
    import os
    import subprocess
    import sys
    from pathlib import Path

    server.clear()
    env = {**os.environ, "HOME": str(tmp_path), "AGENTOPS_LOCAL_STORE": "false"}
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("_global_app.py")),
            server.openai_base_url,
            mode,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_autogen_core_spans_without_us(server: FakeLLMServer, tmp_path: Any) -> None:
    """The control: uninstrumented, autogen-core emits its GenAI spans on the global provider."""
    spans = _global_app(server, "bare", tmp_path)
    names = sorted(s["name"] for s in spans if s["scope"] == "autogen-core")
    assert names == [
        "create_agent weather",
        "create_agent writer",
        "execute_tool get_weather",
        "execute_tool get_weather",
        "invoke_agent weather",
        "invoke_agent weather",
        "invoke_agent writer",
    ]


def test_autogen_core_spans_are_adopted(server: FakeLLMServer, tmp_path: Any) -> None:
    """With init() on the app's global SDK provider: our spans replace autogen-core's, once."""
    spans = _global_app(server, "init", tmp_path)
    assert not [s for s in spans if s["scope"] == "autogen-core"]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    (session,) = by_name["session app"]
    (workflow,) = by_name["invoke_workflow RoundRobinGroupChat"]
    turns = by_name["invoke_agent weather"] + by_name["invoke_agent writer"]
    assert len(turns) == 3 and len(by_name["execute_tool get_weather"]) == 2
    assert workflow["parent"] == session["id"]
    assert all(t["parent"] == workflow["id"] for t in turns)
    llms = [s for s in spans if s["attributes"].get(A.SPAN_KIND) == A.KIND_LLM]
    turn_ids = {t["id"] for t in turns}
    assert len(llms) == len(server.requests) == 5 and all(s["parent"] in turn_ids for s in llms)
    assert session["attributes"][A.TOTAL_INPUT_TOKENS] == _sum(server.requests, "input_tokens")
    assert session["attributes"][A.TOTAL_COST_USD] == pytest.approx(
        sum(s["attributes"][A.COST_USD] for s in llms)
    )


def test_agent_as_tool_nests_under_the_tool(
    capture: SpanCapture, server: FakeLLMServer, model_client: Callable[..., Any]
) -> None:
    """An AgentTool runs through ``run_json_stream``: tool span, then the inner agent's span."""
    from autogen_agentchat.tools import AgentTool

    helper = AssistantAgent("helper", model_client=model_client(), description="Helps out")
    boss = AssistantAgent(
        "boss", model_client=model_client(), tools=[AgentTool(helper)], description="Delegates"
    )
    _in_session(capture, lambda: asyncio.run(boss.run(task="help me")))
    boss_span, tool = _one(capture, "invoke_agent boss"), _one(capture, "execute_tool helper")
    inner = _one(capture, "invoke_agent helper")
    assert capture.parent_of(tool) is boss_span and capture.parent_of(inner) is tool
    assert inner.attributes[A.AGENT_ROLE] == "Helps out"
    assert json.loads(tool.attributes[A.GEN_AI_TOOL_CALL_RESULT])  # the inner run's result
    llm_parents = [capture.parent_of(s) for s in capture.of_kind(A.KIND_LLM)]
    assert llm_parents.count(inner) == 1 and llm_parents.count(boss_span) == 1
    session = _one(capture, "session test")
    assert session.attributes[A.LLM_CALLS] == len(server.requests) == 2
