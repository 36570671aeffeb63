"""A fake LLM server per module, a span capture per test, and the LlamaIndex and openai
instrumentors on it."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.pop("OTEL_SDK_DISABLED", None)  # it would turn our SDK provider into a no-op
os.environ["OPENAI_API_KEY"] = "sk-test"

import pytest

from agentops_llamaindex import LlamaIndexInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture


@pytest.fixture
def capture(server: FakeLLMServer) -> Iterator[SpanCapture]:
    server.clear()
    server.clear_rules()
    with SpanCapture() as cap:
        yield cap


@pytest.fixture
def openai_instrumented(capture: SpanCapture) -> Iterator[bool]:
    """The openai instrumentor on the capture; False where its range is not installed
    (LlamaIndex 0.12 needs openai 1.x): then nothing counts the embedding requests."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    active = instrumentor.is_instrumented_by_opentelemetry
    yield active
    if active:
        instrumentor.uninstrument()


@pytest.fixture
def instrumented(capture: SpanCapture,
                 openai_instrumented: bool) -> Iterator[LlamaIndexInstrumentor]:
    instrumentor = LlamaIndexInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield instrumentor
    instrumentor.uninstrument()
