"""The Agents SDK's tracing bridged into our spans, against the real SDK and the fake server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    ModelSettings,
    OpenAIChatCompletionsModel,
    RunConfig,
    Runner,
    function_tool,
    handoff,
    input_guardrail,
    set_default_openai_client,
    set_trace_processors,
    trace,
)
from agents.extensions import handoff_filters
from agents.tracing import TracingProcessor
from openai import AsyncOpenAI
from opentelemetry import trace as otel_trace

from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@input_guardrail
async def polite(ctx: Any, agent: Any, user_input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info={"ok": True}, tripwire_triggered=False)


def _agents(model: Any) -> Agent:
    """A triage agent that hands off (tool items filtered) to a specialist with a tool."""
    weather = Agent(
        name="Weather",
        instructions="Answer weather questions.",
        handoff_description="Weather specialist",
        tools=[get_weather],
        model=model,
    )
    return Agent(
        name="Triage",
        instructions="Route the user.",
        model=model,
        handoffs=[handoff(weather, input_filter=handoff_filters.remove_all_tools)],
        input_guardrails=[polite],
    )


def _in_session(capture: SpanCapture, run: Callable[[], Any]) -> Any:
    """Run ``run`` under a session span made current, as init() would."""
    with capture.session() as session:
        result = run()
        assert otel_trace.get_current_span() is session  # nothing of ours left attached
        return result


def _fresh_client(server: FakeLLMServer) -> None:
    """A client bound to the current event loop (each ``asyncio.run`` needs its own)."""
    set_default_openai_client(
        AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0),
        use_for_tracing=False,
    )


async def _run(agent: Agent, text: str) -> Any:
    return (await Runner.run(agent, text)).final_output


def _run_sync(agent: Agent, text: str) -> Any:
    return Runner.run_sync(agent, text).final_output


async def _run_streamed(agent: Agent, text: str) -> Any:
    result = Runner.run_streamed(
        agent, text, run_config=RunConfig(model_settings=ModelSettings(include_usage=True))
    )
    async for _ in result.stream_events():
        pass
    return result.final_output


RUNNERS = {
    "run": lambda agent, text: asyncio.run(_run(agent, text)),
    "run_sync": _run_sync,
    "run_streamed": lambda agent, text: asyncio.run(_run_streamed(agent, text)),
}


def _one(capture: SpanCapture, name: str) -> Any:
    spans = capture.named(name)
    assert len(spans) == 1, [s.name for s in capture.spans]
    return spans[0]


def _sum(requests: list[dict[str, Any]], key: str) -> int:
    return sum(r["usage"][key] for r in requests)


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
@pytest.mark.parametrize("mode", list(RUNNERS))
def test_handoff_and_tool_round_trip(
    capture: SpanCapture, server: FakeLLMServer, client: Any, api: str, mode: str
) -> None:
    model = (
        "gpt-4o-mini"
        if api == "responses"
        else OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)
    )
    output = _in_session(capture, lambda: RUNNERS[mode](_agents(model), "weather in Paris?"))
    assert output == "The tool returned: sunny in test"

    requests = server.requests
    assert len(requests) == 3 and all(r["usage"] for r in requests)
    session = _one(capture, "session test")
    workflow = _one(capture, "invoke_workflow Agent workflow")
    triage = _one(capture, "invoke_agent Triage")
    weather = _one(capture, "invoke_agent Weather")
    tool = _one(capture, "execute_tool get_weather")
    guardrail = _one(capture, "operation guardrail polite")
    llms = capture.of_kind(A.KIND_LLM)
    assert len(llms) == 3

    # The tree: session → workflow → agents; LLM calls, tool and guardrail under their agent.
    assert capture.parent_of(workflow) is session
    assert capture.parent_of(triage) is workflow and capture.parent_of(weather) is workflow
    assert capture.parent_of(tool) is weather
    assert capture.parent_of(guardrail) is triage
    assert [capture.parent_of(s).name for s in llms].count("invoke_agent Weather") == 2
    assert [capture.parent_of(s).name for s in llms].count("invoke_agent Triage") == 1
    assert workflow.attributes[A.SPAN_KIND] == A.KIND_WORKFLOW
    assert triage.attributes[A.SPAN_KIND] == A.KIND_AGENT
    assert tool.attributes[A.SPAN_KIND] == A.KIND_TOOL
    assert guardrail.attributes[A.SPAN_KIND] == A.KIND_OPERATION
    assert guardrail.attributes[A.GUARDRAIL_TRIGGERED] is False

    # Identity: name and role on the agent span and everything beneath it.
    assert weather.attributes[A.AGENT_ROLE] == "Weather specialist"
    assert A.AGENT_ROLE not in triage.attributes
    for span in [tool, *(s for s in llms if capture.parent_of(s) is weather)]:
        assert span.attributes[A.AGENT_NAME] == "Weather"
        assert span.attributes[A.AGENT_ROLE] == "Weather specialist"
        assert span.attributes[A.SESSION_ID] == "s1"
    assert guardrail.attributes[A.AGENT_NAME] == "Triage"

    # The handoff is an event on the handing-off agent's span.
    (event,) = [e for e in triage.events if e.name == A.EVENT_HANDOFF]
    assert event.attributes[A.HANDOFF_FROM_AGENT] == "Triage"
    assert event.attributes[A.HANDOFF_TO_AGENT] == "Weather"

    # Tool content.
    assert tool.attributes[A.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"city": "test"}'
    assert tool.attributes[A.GEN_AI_TOOL_CALL_RESULT] == '"sunny in test"'

    # Totals equal the server's request log; each model request counted once.
    def offers_transfer(request: dict[str, Any]) -> bool:
        tools = request["body"]["tools"]
        return any(
            "transfer_to_weather" in (t.get("name"), t.get("function", {}).get("name"))
            for t in tools
        )

    triage_requests = [r for r in requests if offers_transfer(r)]
    weather_requests = [r for r in requests if r not in triage_requests]
    assert len(triage_requests) == 1
    for span, reqs in (
        (session, requests),
        (workflow, requests),
        (triage, triage_requests),
        (weather, weather_requests),
    ):
        assert span.attributes[A.TOTAL_INPUT_TOKENS] == _sum(reqs, "input_tokens")
        assert span.attributes[A.TOTAL_OUTPUT_TOKENS] == _sum(reqs, "output_tokens")
        assert span.attributes[A.LLM_CALLS] == len(reqs)
    cost = sum(s.attributes[A.COST_USD] for s in llms)
    assert cost > 0
    assert session.attributes[A.TOTAL_COST_USD] == pytest.approx(cost)


ERROR = KeyError("boom")


@function_tool
def flaky(city: str) -> str:
    """Always fails; the SDK reports the failure to the model and carries on."""
    raise ERROR


@function_tool(failure_error_function=None)
def fatal(city: str) -> str:
    """Always fails; the SDK ends the run with the failure."""
    raise ERROR


def test_tool_errors_and_user_exceptions(capture: SpanCapture, server: FakeLLMServer) -> None:
    agent = Agent(name="Soft", instructions="x", model="gpt-4o-mini", tools=[flaky])
    assert "An error occurred" in asyncio.run(_run(agent, "hello"))
    soft_tool = _one(capture, "execute_tool flaky")
    assert soft_tool.status.status_code.name == "ERROR"
    assert soft_tool.attributes[A.ERROR_TYPE].startswith("Error running tool")
    assert _one(capture, "invoke_agent Soft").status.status_code.name == "UNSET"

    _fresh_client(server)
    agent = Agent(name="Hard", instructions="x", model="gpt-4o-mini", tools=[fatal])
    with pytest.raises(Exception) as caught:  # the SDK's own wrapping, unchanged
        asyncio.run(_run(agent, "hello"))
    assert type(caught.value).__name__ == "UserError" and caught.value.__cause__ is ERROR
    assert _one(capture, "execute_tool fatal").status.status_code.name == "ERROR"
    hard = _one(capture, "invoke_agent Hard")
    assert hard.status.status_code.name == "ERROR"
    assert hard.attributes[A.ERRORS] >= 1


def test_model_error_passes_through(capture: SpanCapture, server: FakeLLMServer) -> None:
    import openai

    agent = Agent(name="Broken", instructions="x", model="error-500")
    with pytest.raises(openai.InternalServerError):
        asyncio.run(_run(agent, "hello"))
    (llm,) = capture.of_kind(A.KIND_LLM)
    broken = _one(capture, "invoke_agent Broken")
    assert capture.parent_of(llm) is broken
    assert llm.status.status_code.name == "ERROR" and broken.status.status_code.name == "ERROR"


def test_user_trace_is_one_workflow(capture: SpanCapture, server: FakeLLMServer) -> None:
    """Two runs inside the user's ``trace()`` share one workflow span with its group id."""
    first = Agent(name="First", instructions="x", model="gpt-4o-mini")
    second = Agent(name="Second", instructions="x", model="gpt-4o-mini")

    async def both() -> None:
        with trace("Support flow", group_id="conv-1"):
            await Runner.run(first, "one")
            await Runner.run(second, "two")

    _in_session(capture, lambda: asyncio.run(both()))
    workflow = _one(capture, "invoke_workflow Support flow")
    assert workflow.attributes[A.GEN_AI_CONVERSATION_ID] == "conv-1"
    for name in ("First", "Second"):
        agent = _one(capture, f"invoke_agent {name}")
        assert capture.parent_of(agent) is workflow
        assert [capture.parent_of(s) for s in capture.of_kind(A.KIND_LLM)].count(agent) == 1
    assert workflow.attributes[A.TOTAL_INPUT_TOKENS] == _sum(server.requests, "input_tokens")


def test_agent_as_tool_nests_under_the_tool(capture: SpanCapture, server: FakeLLMServer) -> None:
    helper = Agent(
        name="Helper", instructions="x", model="gpt-4o-mini", handoff_description="Helps out"
    )
    boss = Agent(
        name="Boss",
        instructions="x",
        model="gpt-4o-mini",
        tools=[helper.as_tool(tool_name="ask_helper", tool_description="Ask the helper")],
    )
    _in_session(capture, lambda: asyncio.run(_run(boss, "help")))
    tool = _one(capture, "execute_tool ask_helper")
    nested = _one(capture, "invoke_agent Helper")
    assert capture.parent_of(tool) is _one(capture, "invoke_agent Boss")
    assert capture.parent_of(nested) is tool
    (helper_llm,) = [s for s in capture.of_kind(A.KIND_LLM) if capture.parent_of(s) is nested]
    assert helper_llm.attributes[A.AGENT_NAME] == "Helper"
    assert _one(capture, "session test").attributes[A.LLM_CALLS] == len(server.requests) == 3


def test_tracing_disabled_leaves_provider_spans(
    capture: SpanCapture, server: FakeLLMServer
) -> None:
    agent = Agent(name="Quiet", instructions="x", model="gpt-4o-mini")

    async def quiet() -> None:
        await Runner.run(agent, "hi", run_config=RunConfig(tracing_disabled=True))

    _in_session(capture, lambda: asyncio.run(quiet()))
    assert [s.attributes[A.SPAN_KIND] for s in capture.spans] == [A.KIND_LLM, A.KIND_SESSION]
    session = _one(capture, "session test")
    assert session.attributes[A.TOTAL_INPUT_TOKENS] == _sum(server.requests, "input_tokens")


def _sdk_processors() -> list[Any]:
    from agents.tracing import get_trace_provider

    return list(get_trace_provider()._multi_processor._processors)


def test_nothing_goes_to_openai(capture: SpanCapture, server: FakeLLMServer) -> None:
    from agents.tracing.processors import BackendSpanExporter, default_processor

    assert not any(
        isinstance(getattr(p, "_exporter", None), BackendSpanExporter) for p in _sdk_processors()
    )
    asyncio.run(_run(Agent(name="A", instructions="x", model="gpt-4o-mini"), "hi"))
    assert default_processor()._queue.qsize() == 0
    assert capture.named("invoke_agent A")


class _Recorder(TracingProcessor):
    """An app's own processor: it must keep receiving the SDK's spans around ours."""

    def __init__(self) -> None:
        self.agents: list[str] = []

    def on_trace_start(self, trace: Any) -> None: ...
    def on_trace_end(self, trace: Any) -> None: ...
    def on_span_start(self, span: Any) -> None: ...

    def on_span_end(self, span: Any) -> None:
        if span.span_data.type == "agent":
            self.agents.append(span.span_data.name)

    def shutdown(self) -> None: ...
    def force_flush(self) -> None: ...


def test_uninstrument_restores_the_sdk(capture: SpanCapture, server: FakeLLMServer) -> None:
    from agents.run import AgentRunner
    from agents.tracing.processors import default_processor

    from agentops_openai_agents import OpenAIAgentsInstrumentor

    instrumentor = OpenAIAgentsInstrumentor()
    instrumentor.uninstrument()
    recorder = _Recorder()
    set_trace_processors([default_processor(), recorder])  # the SDK's default set-up + the app's
    try:
        instrumentor.instrument(tracer_provider=capture.provider)
        processors = _sdk_processors()
        assert default_processor() not in processors and recorder in processors
        instrumentor.uninstrument()
        assert _sdk_processors() == [default_processor(), recorder]
        assert not hasattr(AgentRunner.__dict__["run"], "__wrapped__")
        assert not hasattr(AgentRunner.__dict__["run_streamed"], "__wrapped__")
    finally:
        set_trace_processors([recorder])  # offline: nothing for the default exporter
    asyncio.run(_run(Agent(name="A", instructions="x", model="gpt-4o-mini"), "hi"))
    assert [s.attributes[A.SPAN_KIND] for s in capture.spans] == [A.KIND_LLM]
    assert recorder.agents == ["A"]

    instrumentor.instrument(tracer_provider=capture.provider)
    _fresh_client(server)
    asyncio.run(_run(Agent(name="B", instructions="x", model="gpt-4o-mini"), "hi"))
    assert capture.named("invoke_agent B") and recorder.agents == ["A", "B"]
    set_trace_processors([p for p in _sdk_processors() if p is not recorder])


def test_moved_internals_degrade_quietly(
    capture: SpanCapture,
    server: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A runner method or a trace-provider API that moved: fewer spans, no exception."""
    import agents.tracing

    import agentops_openai_agents as pkg
    from agentops_openai_agents import OpenAIAgentsInstrumentor

    OpenAIAgentsInstrumentor().uninstrument()
    monkeypatch.setattr(pkg, "_RUNNER", (("agents.run", "AgentRunner.moved", pkg._runner.run),))
    OpenAIAgentsInstrumentor().instrument(tracer_provider=capture.provider)
    specialist = Agent(name="S", instructions="x", model="gpt-4o-mini", handoff_description="r")
    asyncio.run(_run(specialist, "hi"))
    assert A.AGENT_ROLE not in _one(capture, "invoke_agent S").attributes  # no role, still a span

    OpenAIAgentsInstrumentor().uninstrument()
    capture.clear()
    monkeypatch.setattr(agents.tracing, "get_trace_provider", lambda: object())
    with caplog.at_level("DEBUG", logger="agentops_openai_agents"):
        OpenAIAgentsInstrumentor().instrument(tracer_provider=capture.provider)
    assert "not bridged" in caplog.text
    _fresh_client(server)
    asyncio.run(_run(specialist, "hi"))
    assert [s.attributes[A.SPAN_KIND] for s in capture.spans] == [A.KIND_LLM]


def test_init_app(server: FakeLLMServer, tmp_path: Any) -> None:
    """``agentops_otel.init()`` discovers the instrumentor and applies it when ``agents`` loads."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    server.clear()
    env = {**os.environ, "HOME": str(tmp_path), "AGENTOPS_LOCAL_STORE": "false"}
    env.pop("OPENAI_AGENTS_DISABLE_TRACING", None)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_init_app.py")), server.openai_base_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Tracing request failed" not in proc.stderr
    head, *lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert head["output"] == "The tool returned: found test"
    assert head["processors"] == ["Bridge"]
    spans = {s["name"]: s for s in lines}
    session = spans["session app"]
    workflow, agent = spans["invoke_workflow Agent workflow"], spans["invoke_agent Researcher"]
    assert workflow["parent"] == session["id"] and agent["parent"] == workflow["id"]
    assert spans["execute_tool lookup"]["parent"] == agent["id"]
    llms = [s for s in lines if s["attributes"][A.SPAN_KIND] == A.KIND_LLM]
    assert len(llms) == 2 and all(s["parent"] == agent["id"] for s in llms)
    assert session["attributes"][A.TOTAL_INPUT_TOKENS] == sum(
        r["usage"]["input_tokens"] for r in server.requests
    )
