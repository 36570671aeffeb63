"""Fixtures: the Groq instrumentor on a fresh span capture, clients of the fake server."""

from __future__ import annotations

from collections.abc import Iterator

import groq
import pytest

from agentops_groq import GroqInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture


@pytest.fixture
def instrumented(capture: SpanCapture) -> Iterator[None]:
    GroqInstrumentor().instrument(tracer_provider=capture.provider)
    yield
    GroqInstrumentor().uninstrument()


@pytest.fixture
def client(server: FakeLLMServer, instrumented: None) -> groq.Groq:
    server.clear()
    return groq.Groq(base_url=server.url, api_key="gsk-test", max_retries=0)


@pytest.fixture
def aclient(server: FakeLLMServer, instrumented: None) -> groq.AsyncGroq:
    server.clear()
    return groq.AsyncGroq(base_url=server.url, api_key="gsk-test", max_retries=0)
