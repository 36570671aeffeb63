"""Assertions shared by the OpenAI instrumentor tests."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.trace import SpanKind, StatusCode

from agentops_otel import semconv as A
from agentops_otel.testing.spans import SpanCapture

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
RESPONSES_TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
USER = [{"role": "user", "content": "What is the weather in Paris?"}]


def one_llm_span(capture: SpanCapture) -> Any:
    """The single finished LLM span (fails when there are none or several)."""
    spans = capture.of_kind(A.KIND_LLM)
    assert len(spans) == 1, [s.name for s in spans]
    span = spans[0]
    assert span.kind is SpanKind.CLIENT
    return span


def assert_usage(span: Any, usage: dict[str, int]) -> None:
    """The span's usage equals the server's normalized usage for the request."""
    attrs = span.attributes
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == usage["input_tokens"]
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage["output_tokens"]
    assert attrs.get(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0) == usage["cache_read_tokens"]
    assert attrs.get(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, 0) == usage["cache_write_tokens"]
    assert attrs.get(A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 0) == usage["reasoning_tokens"]


def assert_no_usage(span: Any) -> None:
    for key in (A.GEN_AI_USAGE_INPUT_TOKENS, A.GEN_AI_USAGE_OUTPUT_TOKENS, A.COST_USD):
        assert key not in span.attributes


def assert_error(span: Any, exc: BaseException) -> None:
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == type(exc).__qualname__


def messages(span: Any, key: str = A.GEN_AI_OUTPUT_MESSAGES) -> list[dict[str, Any]]:
    return json.loads(span.attributes[key])
