"""Agno against the fake LLM server: the span tree, identity, totals and costs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agno.agent import Agent
from agno.team import Team
from agno.tools.function import FunctionCall
from agno_apps import TASK, build_researcher, build_team, model
from opentelemetry.trace import StatusCode

from agentops_agno import AgnoInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing.agent_tools import FACTS
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.instrumentors import assert_uninstrument_restores, moved_target
from agentops_otel.testing.spans import SpanCapture
from agentops_otel.testing.tree import attrs, by_start, one, totals, usage_of


def run_team(server: FakeLLMServer, capture: SpanCapture, stream: bool = False) -> str:
    team = build_team(server.openai_base_url)
    server.clear()
    with capture.session():
        if not stream:
            return team.run(TASK).content
        events = list(team.run(TASK, stream=True))
    return "".join(
        e.content
        for e in events
        if type(e).__name__.endswith("ContentEvent") and isinstance(e.content, str)
    )


def assert_team_tree(capture: SpanCapture, server: FakeLLMServer) -> None:
    """Team → leader → (model calls, delegation → researcher → model calls and its tool)."""
    root = one(capture.of_kind(A.KIND_SESSION))
    team = one(capture.of_kind(A.KIND_WORKFLOW))
    assert team.name == "invoke_workflow otter team" and capture.parent_of(team) is root
    agents = {attrs(s)[A.AGENT_ROLE]: s for s in capture.of_kind(A.KIND_AGENT)}
    assert sorted(agents) == ["Finds facts about animals", "team leader"]
    leader, researcher = agents["team leader"], agents["Finds facts about animals"]
    assert leader.name == "invoke_agent otter team" and capture.parent_of(leader) is team
    assert researcher.name == "invoke_agent researcher"
    assert attrs(leader)[A.AGENT_ID] != attrs(researcher)[A.AGENT_ID]

    delegate, lookup = by_start(capture.of_kind(A.KIND_TOOL))
    assert delegate.name == "execute_tool delegate_task_to_members"
    assert capture.parent_of(delegate) is leader and attrs(delegate)[A.AGENT_NAME] == "otter team"
    assert capture.parent_of(researcher) is delegate
    assert lookup.name == "execute_tool lookup_facts" and capture.parent_of(lookup) is researcher
    assert attrs(lookup)[A.AGENT_NAME] == "researcher"
    assert json.loads(attrs(lookup)[A.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"topic": "test"}
    assert FACTS in attrs(lookup)[A.GEN_AI_TOOL_CALL_RESULT]
    assert attrs(lookup)[A.GEN_AI_TOOL_CALL_ID].startswith("call_")

    requests = server.requests
    assert len(requests) == 4
    llms = by_start(capture.of_kind(A.KIND_LLM))
    assert len(llms) == 4
    owners = [capture.parent_of(s) for s in llms]
    assert owners == [leader, researcher, researcher, leader]
    for span, owner in zip(llms, owners, strict=True):
        assert span.name == "chat gpt-4o-mini"
        assert attrs(span)[A.AGENT_NAME] == attrs(owner)[A.AGENT_NAME]
        assert attrs(span)[A.AGENT_ROLE] == attrs(owner)[A.AGENT_ROLE]
        assert attrs(span)[A.SESSION_ID] == "s1" and attrs(span)[A.COST_USD] > 0
    assert llms[0].end_time <= delegate.start_time <= researcher.start_time
    assert totals(researcher) == usage_of(requests[1:3])
    assert attrs(researcher)[A.LLM_CALLS] == 2

    expected = usage_of(requests)
    assert expected == (server.total_usage()["input_tokens"], server.total_usage()["output_tokens"])
    cost = sum(attrs(s)[A.COST_USD] for s in llms)
    for span in (root, team, leader):
        assert totals(span) == expected
        assert attrs(span)[A.LLM_CALLS] == 4
        assert attrs(span)[A.TOTAL_COST_USD] == pytest.approx(cost)


def test_team_tree_totals_and_costs(
    server: FakeLLMServer, capture: SpanCapture, instrumented: AgnoInstrumentor
) -> None:
    answer = run_team(server, capture)
    assert FACTS in answer
    assert_team_tree(capture, server)
    team = one(capture.of_kind(A.KIND_WORKFLOW))
    assert json.loads(attrs(team)[A.INPUT]) == TASK
    assert FACTS in json.loads(attrs(team)[A.OUTPUT])


def test_streamed_team_run_keeps_the_tree(
    server: FakeLLMServer, capture: SpanCapture, instrumented: AgnoInstrumentor
) -> None:
    assert FACTS in run_team(server, capture, stream=True)
    assert_team_tree(capture, server)


def test_async_agent_tool_round_trip(
    server: FakeLLMServer, capture: SpanCapture, instrumented: AgnoInstrumentor
) -> None:
    researcher = build_researcher(server.openai_base_url)
    server.clear()

    async def main() -> Any:
        with capture.session():
            return await researcher.arun("Research otters")

    assert FACTS in asyncio.run(main()).content
    agent = one(capture.of_kind(A.KIND_AGENT))
    first, second = by_start(capture.of_kind(A.KIND_LLM))
    tool = one(capture.of_kind(A.KIND_TOOL))
    assert all(capture.parent_of(s) is agent for s in (first, second, tool))
    assert first.end_time <= tool.start_time and tool.end_time <= second.start_time
    assert totals(agent) == usage_of(server.requests)


class Boom(Exception):
    """The user's own exception, raised by a tool."""


def test_failing_tool_is_marked_and_the_run_goes_on(
    server: FakeLLMServer, capture: SpanCapture, instrumented: AgnoInstrumentor
) -> None:
    def broken_lookup(topic: str) -> str:
        """Look up facts about a topic.

        Args:
            topic: The topic to look up.
        """
        raise Boom("lookup service down")

    agent = Agent(
        name="unlucky", model=model(server.openai_base_url), tools=[broken_lookup], telemetry=False
    )
    server.clear()
    with capture.session():
        agent.run("Research otters")
    tool = one(capture.of_kind(A.KIND_TOOL))
    assert tool.status.status_code is StatusCode.ERROR
    assert "lookup service down" in (tool.status.description or "")
    agent_span = one(capture.of_kind(A.KIND_AGENT))
    assert agent_span.status.status_code is not StatusCode.ERROR  # Agno handled it
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests) == 2


def test_uninstrument_restores_agno(
    server: FakeLLMServer, capture: SpanCapture, providers_instrumented: None
) -> None:
    assert_uninstrument_restores(
        AgnoInstrumentor(), capture, [(Agent, "run"), (Team, "run"), (FunctionCall, "execute")]
    )

    assert FACTS in run_team(server, capture)
    assert {attrs(s)[A.SPAN_KIND] for s in capture.spans} == {A.KIND_SESSION, A.KIND_LLM}
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests)


def test_moved_internal_method_degrades_to_fewer_spans(
    server: FakeLLMServer,
    capture: SpanCapture,
    providers_instrumented: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with moved_target(AgnoInstrumentor(), capture, caplog, "Team.run", "Team.run_moved"):
        assert FACTS in run_team(server, capture)
    assert not capture.of_kind(A.KIND_WORKFLOW)
    researcher = one(capture.of_kind(A.KIND_AGENT))
    assert len(capture.of_kind(A.KIND_TOOL)) == 2
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests) == 4
    assert totals(researcher) == usage_of(server.requests[1:3])
    assert totals(one(capture.of_kind(A.KIND_SESSION))) == usage_of(server.requests)
