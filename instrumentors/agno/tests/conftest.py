"""Agno kept offline (no telemetry), a span capture per test, Agno + openai instrumented."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.update(OPENAI_API_KEY="sk-test", AGNO_TELEMETRY="false")
os.environ.pop("OTEL_SDK_DISABLED", None)

import pytest

from agentops_agno import AgnoInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.spans import SpanCapture


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
                 openai_instrumented: None) -> Iterator[AgnoInstrumentor]:
    instrumentor = AgnoInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield instrumentor
    instrumentor.uninstrument()
