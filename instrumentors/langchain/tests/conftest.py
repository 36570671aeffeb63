"""LangChain / LangGraph kept offline, a fake LLM server per module, a span capture per test with
the LangChain and openai instrumentors on it, and a session span to total a run under."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.update(
    LANGSMITH_TRACING="false",
    LANGCHAIN_TRACING_V2="false",
    LANGSMITH_API_KEY="",
    OPENAI_API_KEY="sk-test",
)
os.environ.pop("OTEL_SDK_DISABLED", None)  # it would turn our SDK provider into a no-op

import pytest

try:
    import agentops_otel  # noqa: F401
except ImportError:  # the core is not installed: use the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from agentops_langchain import LangChainInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_otel import _attributes as A
from agentops_otel.spans import end_span, start_span
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
def instrumented(capture: SpanCapture,
                 openai_instrumented: None) -> Iterator[LangChainInstrumentor]:
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
    span = start_span(capture.provider.get_tracer("t"), A.KIND_SESSION, "test",
                      attributes={A.SESSION_ID: "s1", **attributes})
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield span
        assert trace.get_current_span() is span, "the run left a span of its own current"
    finally:
        otel_context.detach(token)
        end_span(span)
