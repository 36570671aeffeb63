"""The cost counter is added to once per attribute set and drain, summed: its value per
agent and model is still the sum of the priced calls' costs, from real calls."""

from __future__ import annotations

import openai
import pytest
from opentelemetry import trace

import agentops_otel as ao
from agentops_openai import OpenAIInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing import FakeLLMServer
from conftest import METRICS


def _costs(agent: str) -> dict[str, float]:
    """The cost counter's value per model, for ``agent``."""
    data = METRICS.get_metrics_data()
    found: dict[str, float] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != A.METRIC_COST:
                    continue
                for point in metric.data.data_points:
                    if point.attributes.get(A.GEN_AI_AGENT_NAME) == agent:
                        found[point.attributes[A.GEN_AI_REQUEST_MODEL]] = point.value
    return found


def test_summed_costs_per_agent_and_model_match_the_spans(spans):
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=trace.get_tracer_provider())
    try:
        with FakeLLMServer() as server:
            client = openai.OpenAI(
                base_url=server.openai_base_url, api_key="sk-test", max_retries=0
            )
            for agent in ("summed-a", "summed-b"):

                @ao.agent(name=agent)
                def run() -> None:
                    for model in ("gpt-4o", "gpt-4o-mini", "gpt-4o"):
                        for _ in range(3):
                            client.chat.completions.create(
                                model=model, messages=[{"role": "user", "content": model}]
                            )

                run()
            ao.flush()  # the queued measurements are recorded now, in one drain
        finished = spans()
        agents = {
            s.context.span_id: s.attributes.get(A.GEN_AI_AGENT_NAME)
            for s in finished
            if s.attributes.get(A.SPAN_KIND) == A.KIND_AGENT
        }
        priced = [s for s in finished if s.attributes.get(A.COST_USD) is not None]
        assert len(priced) == 18
        for agent in ("summed-a", "summed-b"):
            expected: dict[str, float] = {}
            for span in priced:
                if agents.get(span.parent.span_id) == agent:
                    model = span.attributes[A.GEN_AI_REQUEST_MODEL]
                    expected[model] = expected.get(model, 0.0) + span.attributes[A.COST_USD]
            assert set(expected) == {"gpt-4o", "gpt-4o-mini"}
            assert _costs(agent) == pytest.approx(expected, rel=1e-12)
    finally:
        instrumentor.uninstrument()
