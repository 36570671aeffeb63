"""A fake LLM server per module, a span capture per test, and the Pydantic AI and openai
instrumentors on it; Pydantic AI's own instrumentation is reset after every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.pop("OTEL_SDK_DISABLED", None)  # it would turn our SDK provider into a no-op

import pytest
from pydantic_ai import Agent

from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture
from agentops_pydantic_ai import PydanticAIInstrumentor


@pytest.fixture
def capture(server: FakeLLMServer) -> Iterator[SpanCapture]:
    server.clear()
    with SpanCapture() as cap:
        yield cap
    Agent.instrument_all(False)


@pytest.fixture
def openai_instrumented(capture: SpanCapture) -> Iterator[None]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield
    instrumentor.uninstrument()


@pytest.fixture
def instrumented(capture: SpanCapture,
                 openai_instrumented: None) -> Iterator[PydanticAIInstrumentor]:
    instrumentor = PydanticAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield instrumentor
    instrumentor.uninstrument()
