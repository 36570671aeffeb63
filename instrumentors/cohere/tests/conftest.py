"""Fixtures: the Cohere instrumentor on a fresh span capture, v2 clients of the fake server."""

from __future__ import annotations

from collections.abc import Iterator

import cohere
import pytest

from agentops_cohere import CohereInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture


@pytest.fixture
def instrumented(capture: SpanCapture) -> Iterator[None]:
    CohereInstrumentor().instrument(tracer_provider=capture.provider)
    yield
    CohereInstrumentor().uninstrument()


@pytest.fixture
def client(server: FakeLLMServer, instrumented: None) -> cohere.ClientV2:
    server.clear()
    return cohere.ClientV2(api_key="co-test", base_url=server.url)


@pytest.fixture
def aclient(server: FakeLLMServer, instrumented: None) -> cohere.AsyncClientV2:
    server.clear()
    return cohere.AsyncClientV2(api_key="co-test", base_url=server.url)
