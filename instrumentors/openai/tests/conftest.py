"""Fixtures: one fake LLM server per module, a fresh span capture and instrumentation per test."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

try:
    import agentops_otel  # noqa: F401
except ImportError:  # the core is not installed: use the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from agentops_openai import OpenAIInstrumentor
from agentops_otel import _config
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as fake:
        yield fake


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
    before = _config.current()
    _config.install(dataclasses.replace(before, capture_content=False))
    yield
    _config.install(before)


@pytest.fixture
def content_on() -> Iterator[None]:
    before = _config.current()
    _config.install(dataclasses.replace(before, capture_content=True))
    yield
    _config.install(before)
