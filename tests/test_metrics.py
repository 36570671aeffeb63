"""GenAI client metrics and the cost counter, from real calls through our openai instrumentor."""

from __future__ import annotations

import openai
import pytest
from opentelemetry import trace

import agentops_otel as ao
from agentops_openai import OpenAIInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing import FakeLLMServer
from conftest import METRICS


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer() as srv:
        yield srv


def _points(name):
    data = METRICS.get_metrics_data()
    found = []
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found.extend(metric.data.data_points)
    return found


def test_token_usage_duration_and_cost_metrics(server):
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=trace.get_tracer_provider())
    try:
        METRICS.get_metrics_data()  # reset cumulative view baseline is fine: we compare deltas
        before = {
            p.attributes.get(A.GEN_AI_TOKEN_TYPE): p.sum
            for p in _points(A.METRIC_TOKEN_USAGE)
            if p.attributes.get(A.GEN_AI_REQUEST_MODEL) == "gpt-4o"
        }
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
        server.clear()

        @ao.agent(name="metered")
        def run():
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "count my tokens"}]
            )

        run()
        ao.flush()  # measurements are recorded off the caller's thread; flush records them now
        usage = server.requests[0]["usage"]
        tokens = {
            p.attributes.get(A.GEN_AI_TOKEN_TYPE): p
            for p in _points(A.METRIC_TOKEN_USAGE)
            if p.attributes.get(A.GEN_AI_REQUEST_MODEL) == "gpt-4o"
        }
        assert tokens["input"].sum - before.get("input", 0) == usage["input_tokens"]
        assert tokens["output"].sum - before.get("output", 0) == usage["output_tokens"]
        assert list(tokens["input"].explicit_bounds) == [float(b) for b in A.TOKEN_USAGE_BUCKETS]
        durations = [
            p
            for p in _points(A.METRIC_OPERATION_DURATION)
            if p.attributes.get(A.GEN_AI_REQUEST_MODEL) == "gpt-4o"
        ]
        assert durations and durations[0].count >= 1
        assert list(durations[0].explicit_bounds) == pytest.approx(list(A.DURATION_BUCKETS))
        costs = [
            p for p in _points(A.METRIC_COST) if p.attributes.get(A.GEN_AI_AGENT_NAME) == "metered"
        ]
        assert len(costs) == 1 and costs[0].value > 0
        assert costs[0].attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    finally:
        instrumentor.uninstrument()
