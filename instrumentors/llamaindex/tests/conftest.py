"""A fake LLM server per module, a span capture per test, and the LlamaIndex and openai
instrumentors on it (the openai one is inactive with LlamaIndex 0.12, which needs openai 1.x)."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.pop("OTEL_SDK_DISABLED", None)  # it would turn our SDK provider into a no-op
os.environ["OPENAI_API_KEY"] = "sk-test"

import pytest

from agentops_llamaindex import LlamaIndexInstrumentor
from agentops_otel.testing.frameworks import capture, instrumenting, openai_instrumented
from agentops_otel.testing.spans import SpanCapture

__all__ = ["capture", "openai_instrumented"]


@pytest.fixture
def instrumented(
    capture: SpanCapture, openai_instrumented: bool
) -> Iterator[LlamaIndexInstrumentor]:
    with instrumenting(capture, LlamaIndexInstrumentor()) as instrumentor:
        yield instrumentor
