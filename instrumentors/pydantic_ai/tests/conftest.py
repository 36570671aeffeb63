"""A fake LLM server per module, a span capture per test, and the Pydantic AI and openai
instrumentors on it; Pydantic AI's own instrumentation is reset after every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.pop("OTEL_SDK_DISABLED", None)  # it would turn our SDK provider into a no-op

import pytest
from pydantic_ai import Agent

from agentops_otel.testing.frameworks import capture, instrumenting, openai_instrumented
from agentops_otel.testing.spans import SpanCapture
from agentops_pydantic_ai import PydanticAIInstrumentor

__all__ = ["capture", "openai_instrumented"]


@pytest.fixture(autouse=True)
def own_instrumentation_off() -> Iterator[None]:
    yield
    Agent.instrument_all(False)


@pytest.fixture
def instrumented(
    capture: SpanCapture, openai_instrumented: bool
) -> Iterator[PydanticAIInstrumentor]:
    with instrumenting(capture, PydanticAIInstrumentor()) as instrumentor:
        yield instrumentor
