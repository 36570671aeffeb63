"""smolagents against the fake LLM server: the span tree, identity, totals and costs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from smol_apps import ANSWER, RESEARCH, TASK, build_manager, build_tool_caller, script
from smolagents import MultiStepAgent, Tool

from agentops_otel import semconv as A
from agentops_otel.testing.agent_tools import FACTS
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.instrumentors import assert_uninstrument_restores, moved_target
from agentops_otel.testing.spans import SpanCapture
from agentops_otel.testing.tree import attrs, one, totals, usage_of
from agentops_smolagents import SmolagentsInstrumentor


def kinds_beneath(capture: SpanCapture, span: ReadableSpan) -> list[tuple[str, str]]:
    """(kind, name) of the children; ``final_answer`` is left out (a tool call in newer
    releases, handled inside the code interpreter in older ones)."""
    return sorted(
        (attrs(s)[A.SPAN_KIND], s.name)
        for s in capture.children_of(span)
        if s.name != "execute_tool final_answer"
    )


def run_manager(server: FakeLLMServer, capture: SpanCapture, stream: bool = False) -> Any:
    script(server)
    manager = build_manager(server.openai_base_url)
    server.clear()
    with capture.session():
        if not stream:
            return manager.run(TASK)
        steps = list(manager.run(TASK, stream=True))
    return getattr(steps[-1], "output", steps[-1])  # FinalAnswerStep; the answer in 1.8


def assert_manager_tree(capture: SpanCapture, server: FakeLLMServer) -> None:
    """Manager → its steps → managed researcher → its steps → LLM and tool spans."""
    root = one(capture.of_kind(A.KIND_SESSION))
    agents = {attrs(s)[A.AGENT_NAME]: s for s in capture.of_kind(A.KIND_AGENT)}
    assert sorted(agents) == ["manager", "researcher"]
    manager, researcher = agents["manager"], agents["researcher"]
    assert manager.name == "invoke_agent manager" and capture.parent_of(manager) is root
    assert attrs(manager)[A.AGENT_ROLE] == "CodeAgent"
    assert attrs(researcher)[A.AGENT_ROLE] == "Finds facts about animals"
    assert attrs(researcher)[A.GEN_AI_AGENT_DESCRIPTION] == "Finds facts about animals"
    assert attrs(manager)[A.AGENT_ID] != attrs(researcher)[A.AGENT_ID]

    manager_steps = sorted(capture.children_of(manager), key=lambda s: s.start_time)
    assert [s.name for s in manager_steps] == ["operation step 1", "operation step 2"]
    assert capture.parent_of(researcher) is manager_steps[0]  # delegated from the code of step 1
    assert kinds_beneath(capture, manager_steps[0]) == [
        (A.KIND_AGENT, "invoke_agent researcher"),
        (A.KIND_LLM, "chat gpt-4o-mini"),
    ]
    assert kinds_beneath(capture, manager_steps[1]) == [(A.KIND_LLM, "chat gpt-4o-mini")]
    researcher_steps = sorted(capture.children_of(researcher), key=lambda s: s.start_time)
    assert [s.name for s in researcher_steps] == ["operation step 1", "operation step 2"]
    assert kinds_beneath(capture, researcher_steps[0]) == [
        (A.KIND_LLM, "chat gpt-4o-mini"),
        (A.KIND_TOOL, "execute_tool lookup_facts"),
    ]
    assert kinds_beneath(capture, researcher_steps[1]) == [(A.KIND_LLM, "chat gpt-4o-mini")]

    lookup = one(capture.named("execute_tool lookup_facts"))
    assert json.loads(attrs(lookup)[A.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"topic": "otters"}
    assert FACTS in attrs(lookup)[A.GEN_AI_TOOL_CALL_RESULT]
    assert attrs(lookup)[A.AGENT_NAME] == "researcher"

    requests = server.requests
    llms = capture.of_kind(A.KIND_LLM)
    assert len(llms) == len(requests) == 4
    for agent, steps in ((manager, manager_steps), (researcher, researcher_steps)):
        name = attrs(agent)[A.AGENT_NAME]
        own = [s for s in llms if capture.parent_of(s) in steps]
        assert len(own) == 2
        for span in own:  # identity inherited from the nearest agent
            assert attrs(span)[A.AGENT_NAME] == name
            assert attrs(span)[A.AGENT_ROLE] == attrs(agent)[A.AGENT_ROLE]
            assert attrs(span)[A.SESSION_ID] == "s1"
            assert attrs(span)[A.COST_USD] > 0
    assert totals(researcher) == usage_of(requests[1:3])  # the researcher's two requests
    assert attrs(researcher)[A.LLM_CALLS] == 2

    expected = usage_of(requests)
    assert expected == (server.total_usage()["input_tokens"], server.total_usage()["output_tokens"])
    cost = sum(attrs(s)[A.COST_USD] for s in llms)
    for span in (root, manager):
        assert totals(span) == expected
        assert attrs(span)[A.LLM_CALLS] == 4
        assert attrs(span)[A.TOTAL_COST_USD] == pytest.approx(cost)


def test_managed_agent_tree_totals_and_costs(
    server: FakeLLMServer, capture: SpanCapture, instrumented: SmolagentsInstrumentor
) -> None:
    assert run_manager(server, capture) == ANSWER
    assert_manager_tree(capture, server)
    manager = next(s for s in capture.of_kind(A.KIND_AGENT) if s.name.endswith("manager"))
    assert json.loads(attrs(manager)[A.INPUT]) == TASK
    assert json.loads(attrs(manager)[A.OUTPUT]) == ANSWER


def test_streamed_run_keeps_the_tree(
    server: FakeLLMServer, capture: SpanCapture, instrumented: SmolagentsInstrumentor
) -> None:
    assert run_manager(server, capture, stream=True) == ANSWER
    assert_manager_tree(capture, server)


def test_tool_calling_agent_round_trip(
    server: FakeLLMServer, capture: SpanCapture, instrumented: SmolagentsInstrumentor
) -> None:
    server.clear_rules()
    agent = build_tool_caller(server.openai_base_url)
    server.clear()
    with capture.session():
        answer = agent.run(RESEARCH)
    assert answer.startswith("Fake reply from gpt-4o-mini")
    caller = one(capture.of_kind(A.KIND_AGENT))
    assert caller.name == "invoke_agent caller"
    assert attrs(caller)[A.AGENT_ROLE] == "ToolCallingAgent"
    step = one(capture.of_kind(A.KIND_OPERATION))
    assert step.name == "operation step 1" and capture.parent_of(step) is caller
    tool = one(capture.of_kind(A.KIND_TOOL))
    assert tool.name == "execute_tool lookup_facts" and capture.parent_of(tool) is step
    assert json.loads(attrs(tool)[A.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"topic": "test"}
    first, final = sorted(capture.of_kind(A.KIND_LLM), key=lambda s: s.start_time)
    assert capture.parent_of(first) is step and first.end_time <= tool.start_time
    assert capture.parent_of(final) is caller  # max steps reached: asked outside any step
    assert attrs(final)[A.AGENT_NAME] == "caller"
    requests = server.requests
    assert [bool(r["body"].get("tools")) for r in requests] == [True, False]
    assert totals(caller) == usage_of(requests)
    assert totals(one(capture.of_kind(A.KIND_SESSION))) == usage_of(requests)


class Boom(Exception):
    """The user's own exception, raised from a step callback."""


def test_user_exception_passes_through_and_marks_the_agent(
    server: FakeLLMServer, capture: SpanCapture, instrumented: SmolagentsInstrumentor
) -> None:
    boom = Boom("callback failed")

    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise boom

    script(server)
    manager = build_manager(server.openai_base_url, step_callbacks=[explode])
    server.clear()
    with capture.session(), pytest.raises(Boom) as info:
        manager.run(TASK)
    assert info.value is boom
    agent = next(s for s in capture.of_kind(A.KIND_AGENT) if s.name.endswith("manager"))
    assert agent.status.status_code is StatusCode.ERROR
    assert attrs(agent)[A.ERROR_TYPE] == "Boom"
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests)


def test_uninstrument_restores_smolagents(
    server: FakeLLMServer, capture: SpanCapture, providers_instrumented: None
) -> None:
    assert_uninstrument_restores(
        SmolagentsInstrumentor(), capture, [(MultiStepAgent, "run"), (Tool, "__call__")]
    )

    assert run_manager(server, capture) == ANSWER
    assert {attrs(s)[A.SPAN_KIND] for s in capture.spans} == {A.KIND_SESSION, A.KIND_LLM}
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests)


def test_moved_internal_method_degrades_to_fewer_spans(
    server: FakeLLMServer,
    capture: SpanCapture,
    providers_instrumented: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with moved_target(
        SmolagentsInstrumentor(), capture, caplog, "MultiStepAgent.run", "MultiStepAgent.run_moved"
    ):
        assert run_manager(server, capture) == ANSWER
    assert not capture.of_kind(A.KIND_AGENT)
    root = one(capture.of_kind(A.KIND_SESSION))
    steps = capture.of_kind(A.KIND_OPERATION)
    assert len(steps) == 4
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests)
    assert all(capture.parent_of(s) in steps for s in capture.of_kind(A.KIND_LLM))
    assert totals(root) == usage_of(server.requests)
