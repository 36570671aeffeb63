"""LangChain / LangGraph kept offline, a fake LLM server per module, a span capture per test with
the LangChain and openai instrumentors on it, and a session span to total a run under."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

os.environ.update(
    LANGSMITH_TRACING="false",
    LANGCHAIN_TRACING_V2="false",
    LANGSMITH_API_KEY="",
    OPENAI_API_KEY="sk-test",
)
os.environ.pop("OTEL_SDK_DISABLED", None)  # it would turn our SDK provider into a no-op

import pytest
from opentelemetry import trace
from opentelemetry.trace import Span

from agentops_langchain import LangChainInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture


@pytest.fixture
def capture(server: FakeLLMServer) -> Iterator[SpanCapture]:
    server.clear()
    with SpanCapture() as cap:
        yield cap


@pytest.fixture
def openai_instrumented(capture: SpanCapture) -> Iterator[bool]:
    """The openai instrumentor on the capture; False where its openai range is not installed
    (the oldest LangChain needs openai 1.x): then no provider span can stand in for ours."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    active = instrumentor.is_instrumented_by_opentelemetry
    yield active
    if active:
        instrumentor.uninstrument()


@pytest.fixture
def instrumented(
    capture: SpanCapture, openai_instrumented: None
) -> Iterator[LangChainInstrumentor]:
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield instrumentor
    instrumentor.uninstrument()


def pytest_configure(config: pytest.Config) -> None:
    # langchain-core 0.3.0 on a newer pydantic warns on every serialisation
    config.addinivalue_line("filterwarnings", "ignore:Accessing the 'model_fields' attribute")


@contextmanager
def session(capture: SpanCapture, **attributes: Any) -> Iterator[Span]:
    """A session span made current around the run; checks the run left the context as it was."""
    with capture.session(**attributes) as span:
        yield span
        assert trace.get_current_span() is span, "the run left a span of its own current"
