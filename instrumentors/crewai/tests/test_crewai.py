"""A real two-agent CrewAI crew (researcher with a tool → writer) against the fake LLM server."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import wrapt
from _crew import ANSWER, FACTS, NATIVE_TOOLS, RESEARCH, WRITE, build_crew, script
from crewai import Agent, Crew, Task
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import agentops_crewai
from agentops_crewai import CrewAIInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture


def make_crew(server: FakeLLMServer, model: str = "gpt-4o-mini") -> Crew:
    script(server)
    return build_crew(server.openai_base_url, model)


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def one(spans: list[ReadableSpan]) -> ReadableSpan:
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def run_crew(
    server: FakeLLMServer,
    capture: SpanCapture,
    kickoff: Callable[[Crew], Any] = lambda crew: crew.kickoff(),
) -> Any:
    crew = make_crew(server)
    server.clear()
    with capture.session():
        return kickoff(crew)


def usage_of(requests: list[dict[str, Any]]) -> tuple[int, int]:
    return (
        sum(r["usage"]["input_tokens"] for r in requests),
        sum(r["usage"]["output_tokens"] for r in requests),
    )


def totals(span: ReadableSpan) -> tuple[int, int]:
    a = attrs(span)
    return a[A.TOTAL_INPUT_TOKENS], a[A.TOTAL_OUTPUT_TOKENS]


def first_user_text(request: dict[str, Any]) -> str:
    return next(m["content"] for m in request["body"]["messages"] if m["role"] == "user")


def assert_crew_tree(capture: SpanCapture, server: FakeLLMServer) -> None:
    """The whole tree of one sequential kickoff, identity, totals and costs."""
    root = one(capture.of_kind(A.KIND_SESSION))
    workflow = one(capture.of_kind(A.KIND_WORKFLOW))
    assert workflow.name == "invoke_workflow otter crew"
    assert capture.parent_of(workflow) is root
    assert attrs(workflow)[A.GEN_AI_WORKFLOW_NAME] == "otter crew"

    tasks = sorted(capture.of_kind(A.KIND_TASK), key=lambda s: s.start_time)
    assert [t.name for t in tasks] == ["task research", "task write"]
    assert all(capture.parent_of(t) is workflow for t in tasks)

    agents = {}
    for task, role, goal in zip(
        tasks,
        ("Researcher", "Writer"),
        ("Find facts about animals", "Write short summaries"),
        strict=True,
    ):
        agent = one(capture.children_of(task))
        a = attrs(agent)
        assert agent.name == f"invoke_agent {role}"
        assert a[A.SPAN_KIND] == A.KIND_AGENT
        assert a[A.AGENT_ROLE] == role and a[A.AGENT_NAME] == role
        assert a[A.GEN_AI_AGENT_DESCRIPTION] == goal
        assert a[A.AGENT_ID] and a[A.GEN_AI_AGENT_ID] == a[A.AGENT_ID]
        assert a[A.SESSION_ID] == "s1"
        agents[role] = agent
    assert attrs(agents["Researcher"])[A.AGENT_ID] != attrs(agents["Writer"])[A.AGENT_ID]

    requests = server.requests
    research = [r for r in requests if RESEARCH in first_user_text(r)]
    writing = [r for r in requests if WRITE in first_user_text(r)]
    assert len(research) == (2 if NATIVE_TOOLS else 1) and len(writing) == 1
    assert len(requests) == len(research) + len(writing)

    llms = capture.of_kind(A.KIND_LLM)
    assert len(llms) == len(requests)
    for role, owned in (("Researcher", research), ("Writer", writing)):
        beneath = [s for s in llms if capture.parent_of(s) is agents[role]]
        assert len(beneath) == len(owned)
        for span in beneath:
            a = attrs(span)
            assert span.name == "chat gpt-4o-mini"
            assert a[A.AGENT_ROLE] == role and a[A.SESSION_ID] == "s1"
            assert a[A.COST_USD] > 0
        assert totals(agents[role]) == usage_of(owned)
        assert attrs(agents[role])[A.LLM_CALLS] == len(owned)

    tool_span = one(capture.of_kind(A.KIND_TOOL))
    assert tool_span.name == "execute_tool lookup_facts"
    assert capture.parent_of(tool_span) is agents["Researcher"]
    assert attrs(tool_span)[A.AGENT_ROLE] == "Researcher"
    assert FACTS in attrs(tool_span)[A.GEN_AI_TOOL_CALL_RESULT]
    research_llms = sorted(
        (s for s in llms if capture.parent_of(s) is agents["Researcher"]),
        key=lambda s: s.start_time,
    )
    assert research_llms[0].end_time <= tool_span.start_time  # the model asked, then the tool ran

    expected = usage_of(requests)
    assert server.total_usage()["input_tokens"] == expected[0]
    for span in (root, workflow):
        assert totals(span) == expected
        assert attrs(span)[A.LLM_CALLS] == len(requests)
    cost = sum(attrs(s)[A.COST_USD] for s in llms)
    assert cost > 0
    assert attrs(root)[A.TOTAL_COST_USD] == pytest.approx(cost)
    assert attrs(workflow)[A.TOTAL_COST_USD] == pytest.approx(cost)


def test_sequential_crew_tree_totals_and_costs(
    server: FakeLLMServer, capture: SpanCapture, instrumented: CrewAIInstrumentor
) -> None:
    result = run_crew(server, capture)
    assert result.raw == ANSWER
    assert_crew_tree(capture, server)
    workflow = one(capture.of_kind(A.KIND_WORKFLOW))
    assert json.loads(attrs(workflow)[A.OUTPUT]) == ANSWER


def test_threads_crewai_starts_stay_in_the_trace(
    server: FakeLLMServer, capture: SpanCapture, instrumented: CrewAIInstrumentor
) -> None:
    """An async task runs in its own thread; max_execution_time runs the agent in a pool."""

    def kickoff(crew: Crew) -> Any:
        crew.tasks[0].async_execution = True
        for agent in crew.agents:
            agent.max_execution_time = 120
        return crew.kickoff()

    assert run_crew(server, capture, kickoff).raw == ANSWER
    assert_crew_tree(capture, server)


def test_standalone_agent_kickoff_is_an_agent_span(
    server: FakeLLMServer, capture: SpanCapture, instrumented: CrewAIInstrumentor
) -> None:
    researcher = make_crew(server).agents[0]
    server.clear()
    with capture.session() as root:
        researcher.kickoff(RESEARCH)
    agent = one(capture.of_kind(A.KIND_AGENT))
    assert agent.name == "invoke_agent Researcher" and capture.parent_of(agent).context == (
        root.get_span_context()
    )
    assert not capture.of_kind(A.KIND_WORKFLOW) and not capture.of_kind(A.KIND_TASK)
    llms = capture.of_kind(A.KIND_LLM)
    assert len(llms) == len(server.requests) >= 1
    assert all(capture.parent_of(s) is agent for s in llms)
    assert capture.parent_of(one(capture.of_kind(A.KIND_TOOL))) is agent
    assert totals(agent) == usage_of(server.requests)


def streamed(crew: Crew) -> Any:
    crew.stream = True
    output = crew.kickoff()
    for _chunk in output:
        pass
    return output.result


KICKOFFS: dict[str, Callable[[Crew], Any]] = {
    "kickoff_async": lambda crew: asyncio.run(crew.kickoff_async()),
}
if hasattr(Crew, "akickoff"):
    KICKOFFS["akickoff"] = lambda crew: asyncio.run(crew.akickoff())
if "stream" in Crew.model_fields:
    KICKOFFS["stream"] = streamed


@pytest.mark.parametrize("method", sorted(KICKOFFS))
def test_other_kickoffs_nest_the_same_way(
    server: FakeLLMServer, capture: SpanCapture, instrumented: CrewAIInstrumentor, method: str
) -> None:
    result = run_crew(server, capture, KICKOFFS[method])
    assert result.raw == ANSWER
    assert_crew_tree(capture, server)


class Boom(Exception):
    """The user's own exception, raised from the agent's step callback."""


def test_user_exception_passes_through_and_marks_spans(
    server: FakeLLMServer, capture: SpanCapture, instrumented: CrewAIInstrumentor
) -> None:
    boom = Boom("user callback failed")

    def step_callback(step: Any) -> None:
        raise boom

    crew = make_crew(server)
    crew.agents[0].step_callback = step_callback
    server.clear()
    with capture.session(), pytest.raises(Boom) as info:
        crew.kickoff()
    assert info.value is boom
    for kind in (A.KIND_WORKFLOW, A.KIND_TASK, A.KIND_AGENT):
        span = one(capture.of_kind(kind))
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)[A.ERROR_TYPE] == "Boom"
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests)


def test_uninstrument_restores_crewai(
    server: FakeLLMServer, capture: SpanCapture, openai_instrumented: None
) -> None:
    original = Crew.__dict__["kickoff"]
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    assert isinstance(Crew.__dict__["kickoff"], wrapt.FunctionWrapper)
    instrumentor.uninstrument()
    assert Crew.__dict__["kickoff"] is original
    assert not isinstance(Agent.__dict__["execute_task"], wrapt.FunctionWrapper)
    assert not isinstance(Task.__dict__["_execute_core"], wrapt.FunctionWrapper)

    assert run_crew(server, capture).raw == ANSWER
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
    targets = tuple(
        (module, path.replace("Agent.execute_task", "Agent.execute_task_moved"), spec)
        for module, path, spec in agentops_crewai._TARGETS
    )
    monkeypatch.setattr(agentops_crewai, "_TARGETS", targets)
    instrumentor = CrewAIInstrumentor()
    with caplog.at_level(logging.DEBUG, logger="agentops_otel.instrumentation"):
        instrumentor.instrument(tracer_provider=capture.provider)
    try:
        moved = [r for r in caplog.records if "execute_task_moved" in r.getMessage()]
        assert len(moved) == 1 and moved[0].levelno == logging.DEBUG
        assert run_crew(server, capture).raw == ANSWER
    finally:
        instrumentor.uninstrument()

    assert not capture.of_kind(A.KIND_AGENT)
    workflow = one(capture.of_kind(A.KIND_WORKFLOW))
    tasks = capture.of_kind(A.KIND_TASK)
    assert len(tasks) == 2 and all(capture.parent_of(t) is workflow for t in tasks)
    llms = capture.of_kind(A.KIND_LLM)
    assert len(llms) == len(server.requests)
    assert all(capture.parent_of(s) in tasks for s in llms)  # one level up, still in the tree
    assert totals(workflow) == usage_of(server.requests)
