"""ADK kept offline (LiteLLM's local price map), a span capture per test, and ADK + litellm +
openai instrumentation on it."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.update(LITELLM_LOCAL_MODEL_COST_MAP="True", OPENAI_API_KEY="sk-test")
os.environ.pop("OTEL_SDK_DISABLED", None)

import pytest

from agentops_google_adk import GoogleADKInstrumentor
from agentops_litellm import LiteLLMInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.spans import SpanCapture


@pytest.fixture
def capture() -> Iterator[SpanCapture]:
    with SpanCapture() as cap:
        yield cap


@pytest.fixture
def providers_instrumented(capture: SpanCapture) -> Iterator[None]:
    instrumentors = [LiteLLMInstrumentor(), OpenAIInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=capture.provider)
    yield
    for instrumentor in instrumentors:
        instrumentor.uninstrument()


@pytest.fixture
def instrumented(capture: SpanCapture,
                 providers_instrumented: None) -> Iterator[GoogleADKInstrumentor]:
    instrumentor = GoogleADKInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield instrumentor
    instrumentor.uninstrument()
