"""smolagents kept offline, a span capture per test, smolagents + openai instrumentation on it."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.setdefault("OPENAI_API_KEY", "sk-test")
os.environ.pop("OTEL_SDK_DISABLED", None)

import pytest

from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.spans import SpanCapture
from agentops_smolagents import SmolagentsInstrumentor


@pytest.fixture
def capture() -> Iterator[SpanCapture]:
    with SpanCapture() as cap:
        yield cap


@pytest.fixture
def openai_instrumented(capture: SpanCapture) -> Iterator[None]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield
    instrumentor.uninstrument()


@pytest.fixture
def instrumented(capture: SpanCapture,
                 openai_instrumented: None) -> Iterator[SmolagentsInstrumentor]:
    instrumentor = SmolagentsInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield instrumentor
    instrumentor.uninstrument()
