"""Fixtures: one fake LLM server per module, a fresh span capture and instrumentation per test."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.fixtures import settings_changed
from agentops_otel.testing.spans import SpanCapture


@pytest.fixture
def capture() -> Iterator[SpanCapture]:
    with SpanCapture() as cap:
        yield cap


@pytest.fixture
def instrumented(capture: SpanCapture) -> Iterator[OpenAIInstrumentor]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield instrumentor
    instrumentor.uninstrument()


@pytest.fixture
def client(server: FakeLLMServer, instrumented: OpenAIInstrumentor) -> openai.OpenAI:
    server.clear()
    return openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def aclient(server: FakeLLMServer, instrumented: OpenAIInstrumentor) -> openai.AsyncOpenAI:
    server.clear()
    return openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def content_off() -> Iterator[None]:
    with settings_changed(capture_content=False):
        yield


@pytest.fixture
def content_on() -> Iterator[None]:
    with settings_changed(capture_content=True):
        yield
