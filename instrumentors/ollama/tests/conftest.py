"""Fixtures: the Ollama instrumentor on a fresh span capture, clients of the fake server."""

from __future__ import annotations

from collections.abc import Iterator

import ollama
import pytest

from agentops_ollama import OllamaInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture


@pytest.fixture
def instrumented(capture: SpanCapture) -> Iterator[None]:
    OllamaInstrumentor().instrument(tracer_provider=capture.provider)
    yield
    OllamaInstrumentor().uninstrument()


@pytest.fixture
def client(server: FakeLLMServer, instrumented: None) -> ollama.Client:
    server.clear()
    return ollama.Client(host=server.url)


@pytest.fixture
def aclient(server: FakeLLMServer, instrumented: None) -> ollama.AsyncClient:
    server.clear()
    return ollama.AsyncClient(host=server.url)
