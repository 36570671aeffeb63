"""Google ADK against the fake LLM server: the span tree, identity, totals and costs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from adk_apps import (
    ENUM_TRANSFER,
    TASK,
    build_coordinator,
    build_pipeline,
    final_text,
    run,
    run_sync,
)
from google.adk import telemetry
from google.adk.agents.base_agent import BaseAgent
from google.adk.runners import Runner
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from agentops_google_adk import GoogleADKInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing.agent_tools import FACTS
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.instrumentors import assert_uninstrument_restores, moved_target
from agentops_otel.testing.spans import SpanCapture
from agentops_otel.testing.tree import attrs, by_start, one, totals, usage_of


def run_agent(server: FakeLLMServer, capture: SpanCapture, build: Any = build_pipeline) -> str:
    agent = build(server.openai_base_url)
    server.clear()
    with capture.session():
        return final_text(run(agent))


def assert_llm_spans_owned(
    capture: SpanCapture, server: FakeLLMServer, owners: list[ReadableSpan]
) -> None:
    """One litellm LLM span per request, in order, each under (and named for) its agent; ADK's
    own spans stood down."""
    requests = server.requests
    assert not [s for s in capture.spans if s.instrumentation_scope.name == "gcp.vertex.agent"]
    llms = by_start(capture.of_kind(A.KIND_LLM))
    assert len(llms) == len(requests) == len(owners)
    assert {s.instrumentation_scope.name for s in llms} == {"agentops_litellm"}
    assert [capture.parent_of(s) for s in llms] == owners
    for span, owner in zip(llms, owners, strict=True):
        assert span.name == "chat openai/gpt-4o-mini"
        assert attrs(span)[A.AGENT_NAME] == attrs(owner)[A.AGENT_NAME]
        assert attrs(span)[A.AGENT_ROLE] == attrs(owner)[A.AGENT_ROLE]
        assert attrs(span)[A.SESSION_ID] == "s1" and attrs(span)[A.COST_USD] > 0
    expected = usage_of(requests)
    assert expected == (server.total_usage()["input_tokens"], server.total_usage()["output_tokens"])
    cost = sum(attrs(s)[A.COST_USD] for s in llms)
    root = one(capture.of_kind(A.KIND_SESSION))
    workflow = one(capture.of_kind(A.KIND_WORKFLOW))
    for span in (root, workflow):
        assert totals(span) == expected
        assert attrs(span)[A.LLM_CALLS] == len(requests)
        assert attrs(span)[A.TOTAL_COST_USD] == pytest.approx(cost)


def assert_lookup(capture: SpanCapture, researcher: ReadableSpan) -> ReadableSpan:
    lookup = one(capture.named("execute_tool lookup_facts"))
    assert capture.parent_of(lookup) is researcher
    assert attrs(lookup)[A.AGENT_NAME] == "researcher"
    assert json.loads(attrs(lookup)[A.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"topic": "test"}
    assert FACTS in attrs(lookup)[A.GEN_AI_TOOL_CALL_RESULT]
    assert attrs(lookup)[A.GEN_AI_TOOL_CALL_ID].startswith("call_")
    return lookup


@pytest.mark.parametrize("runner", [run, run_sync], ids=["run_async", "run"])
def test_sequential_agents_tree_totals_and_costs(
    server: FakeLLMServer, capture: SpanCapture, instrumented: GoogleADKInstrumentor, runner: Any
) -> None:
    pipeline = build_pipeline(server.openai_base_url)
    server.clear()
    with capture.session():
        assert final_text(runner(pipeline))
    root = one(capture.of_kind(A.KIND_SESSION))
    workflow = one(capture.of_kind(A.KIND_WORKFLOW))
    assert workflow.name == "invoke_workflow otter_app" and capture.parent_of(workflow) is root
    assert json.loads(attrs(workflow)[A.INPUT]) == TASK
    agents = {attrs(s)[A.AGENT_NAME]: s for s in capture.of_kind(A.KIND_AGENT)}
    assert sorted(agents) == ["pipeline", "researcher", "writer"]
    pipeline, researcher, writer = agents["pipeline"], agents["researcher"], agents["writer"]
    assert capture.parent_of(pipeline) is workflow
    assert attrs(pipeline)[A.AGENT_ROLE] == "SequentialAgent"
    assert capture.parent_of(researcher) is pipeline and capture.parent_of(writer) is pipeline
    assert attrs(researcher)[A.AGENT_ROLE] == "Finds facts about animals"
    assert attrs(writer)[A.AGENT_ROLE] == "Writes short summaries"
    assert researcher.end_time <= writer.start_time
    lookup = assert_lookup(capture, researcher)
    assert one(capture.of_kind(A.KIND_TOOL)) is lookup
    requests = server.requests
    assert_llm_spans_owned(capture, server, [researcher, researcher, writer])
    assert totals(researcher) == usage_of(requests[:2])
    assert totals(writer) == usage_of(requests[2:])
    assert totals(pipeline) == usage_of(requests)


@pytest.mark.skipif(
    not ENUM_TRANSFER,
    reason="the fake server can only name the sub-agent "
    "where ADK constrains transfer_to_agent's agent_name to an enum (>= 1.20)",
)
def test_transfer_tree_totals_and_costs(
    server: FakeLLMServer, capture: SpanCapture, instrumented: GoogleADKInstrumentor
) -> None:
    assert FACTS in run_agent(server, capture, build_coordinator)
    workflow = one(capture.of_kind(A.KIND_WORKFLOW))
    agents = {attrs(s)[A.AGENT_NAME]: s for s in capture.of_kind(A.KIND_AGENT)}
    assert sorted(agents) == ["coordinator", "researcher"]
    coordinator, researcher = agents["coordinator"], agents["researcher"]
    assert capture.parent_of(coordinator) is workflow
    assert attrs(coordinator)[A.AGENT_ROLE] == "Routes questions to specialists"
    assert attrs(researcher)[A.GEN_AI_REQUEST_MODEL] == "openai/gpt-4o-mini"
    transfer, lookup = by_start(capture.of_kind(A.KIND_TOOL))
    assert transfer.name == "execute_tool transfer_to_agent"
    assert capture.parent_of(transfer) is coordinator
    assert json.loads(attrs(transfer)[A.GEN_AI_TOOL_CALL_ARGUMENTS])["agent_name"] == "researcher"
    assert transfer.end_time <= researcher.start_time  # the transfer, then the sub-agent
    assert capture.parent_of(researcher) in (coordinator, workflow)
    assert assert_lookup(capture, researcher) is lookup
    requests = server.requests
    assert_llm_spans_owned(capture, server, [coordinator, researcher, researcher])
    assert totals(researcher) == usage_of(requests[1:])
    assert attrs(researcher)[A.LLM_CALLS] == 2


class Boom(Exception):
    """The user's own exception, raised by a before-agent callback."""


def test_user_exception_passes_through_and_marks_the_agent(
    server: FakeLLMServer, capture: SpanCapture, instrumented: GoogleADKInstrumentor
) -> None:
    boom = Boom("callback failed")

    def explode(**_kwargs: Any) -> None:
        raise boom

    pipeline = build_pipeline(server.openai_base_url)
    pipeline.before_agent_callback = explode
    server.clear()
    with capture.session(), pytest.raises(Exception) as info:
        run(pipeline)
    assert info.value is boom or info.value.__cause__ is boom  # sync runners may chain it
    agent = one(capture.of_kind(A.KIND_AGENT))
    assert agent.status.status_code is StatusCode.ERROR
    assert attrs(agent)[A.ERROR_TYPE] == "Boom"
    assert not server.requests


def test_uninstrument_restores_adk(
    server: FakeLLMServer, capture: SpanCapture, providers_instrumented: None
) -> None:
    assert_uninstrument_restores(
        GoogleADKInstrumentor(),
        capture,
        [
            (BaseAgent, "run_async"),
            (Runner, "run_async"),
            (telemetry.tracer, "start_span"),
            (telemetry.tracer, "start_as_current_span"),
        ],
    )

    assert run_agent(server, capture)
    assert {attrs(s)[A.SPAN_KIND] for s in capture.spans} == {A.KIND_SESSION, A.KIND_LLM}
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests) == 3


def test_moved_internal_method_degrades_to_fewer_spans(
    server: FakeLLMServer,
    capture: SpanCapture,
    providers_instrumented: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with moved_target(
        GoogleADKInstrumentor(), capture, caplog, "Runner.run_async", "Runner.run_async_moved"
    ):
        assert run_agent(server, capture)
    assert not capture.of_kind(A.KIND_WORKFLOW)
    assert len(capture.of_kind(A.KIND_AGENT)) == 3 and len(capture.of_kind(A.KIND_TOOL)) == 1
    assert len(capture.of_kind(A.KIND_LLM)) == len(server.requests) == 3
    assert totals(one(capture.of_kind(A.KIND_SESSION))) == usage_of(server.requests)
