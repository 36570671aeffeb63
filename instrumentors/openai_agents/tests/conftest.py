"""Fixtures: the fake LLM server, a span capture with the openai and openai-agents instrumentors,
and the Agents SDK pointed at the fake server (nothing leaves 127.0.0.1)."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.setdefault("OPENAI_API_KEY", "sk-test")
os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "false"

import pytest
from agents import set_default_openai_api, set_default_openai_client, set_trace_processors
from openai import AsyncOpenAI

from agentops_openai import OpenAIInstrumentor
from agentops_openai_agents import OpenAIAgentsInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture

# Offline: the SDK's default processor would export to OpenAI; tests start with none registered.
set_trace_processors([])


@pytest.fixture
def client(server: FakeLLMServer) -> AsyncOpenAI:
    server.clear()
    client = AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
    set_default_openai_client(client, use_for_tracing=False)
    set_default_openai_api("responses")
    return client


@pytest.fixture
def capture(client: AsyncOpenAI) -> Iterator[SpanCapture]:
    cap = SpanCapture()
    OpenAIInstrumentor().instrument(tracer_provider=cap.provider)
    OpenAIAgentsInstrumentor().instrument(tracer_provider=cap.provider)
    try:
        yield cap
    finally:
        OpenAIAgentsInstrumentor().uninstrument()
        OpenAIInstrumentor().uninstrument()
        cap.shutdown()
