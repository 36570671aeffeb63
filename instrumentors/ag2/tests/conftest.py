"""Fixtures: the fake LLM server, a span capture with the openai and AG2 instrumentors, and helpers.

AG2 classic (ag2 0.x) and AG2 1.x are the same distribution, so each environment holds one line:
the other line's test module is not collected here (its own environment runs it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("OPENAI_API_KEY", "sk-test")
os.environ.setdefault("AUTOGEN_USE_DOCKER", "False")

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from agentops_ag2 import AG2Instrumentor, _installed_line
from agentops_openai import OpenAIInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture

LINE = _installed_line()
collect_ignore = ["test_ag2_v1.py"] if LINE == "classic" else ["test_ag2_classic.py"]


@pytest.fixture
def capture(server: FakeLLMServer) -> Iterator[SpanCapture]:
    server.clear()
    cap = SpanCapture()
    OpenAIInstrumentor().instrument(tracer_provider=cap.provider)
    AG2Instrumentor().instrument(tracer_provider=cap.provider)
    try:
        yield cap
    finally:
        AG2Instrumentor().uninstrument()
        OpenAIInstrumentor().uninstrument()
        cap.shutdown()


CONTENT_KEYS = (
    A.INPUT,
    A.OUTPUT,
    A.GEN_AI_TOOL_CALL_ARGUMENTS,
    A.GEN_AI_TOOL_CALL_RESULT,
    A.GEN_AI_INPUT_MESSAGES,
    A.GEN_AI_OUTPUT_MESSAGES,
)


def in_session(capture: SpanCapture, run: Callable[[], Any]) -> Any:
    """Run ``run`` under a session span made current, as ``init()`` would."""
    with capture.session():
        return run()


def attr(span: ReadableSpan, key: str) -> Any:
    return (span.attributes or {}).get(key)


def assert_totals(capture: SpanCapture, server: FakeLLMServer) -> None:
    """Session totals equal the server's log; cost = sum of LLM span costs, and positive."""
    (session,) = capture.of_kind(A.KIND_SESSION)
    usage = [r["usage"] for r in server.requests]
    assert usage and all(u is not None for u in usage)
    llm = capture.of_kind(A.KIND_LLM)
    assert len(llm) == len(usage)
    assert attr(session, A.TOTAL_INPUT_TOKENS) == sum(u["input_tokens"] for u in usage)
    assert attr(session, A.TOTAL_OUTPUT_TOKENS) == sum(u["output_tokens"] for u in usage)
    assert attr(session, A.LLM_CALLS) == len(usage)
    costs = [attr(s, A.COST_USD) for s in llm]
    assert all(c is not None and c > 0 for c in costs)
    assert attr(session, A.TOTAL_COST_USD) == pytest.approx(sum(costs))
