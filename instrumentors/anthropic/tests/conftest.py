"""Fixtures: one fake server per module, a SpanCapture with the instrumentor on it per test."""

from __future__ import annotations

import logging

import anthropic
import pytest

from agentops_anthropic import AnthropicInstrumentor
from agentops_otel.testing.spans import SpanCapture


@pytest.fixture
def capture(caplog):
    """Instrumented for the test; fails it if any span of ours was ended twice."""
    cap = SpanCapture()
    AnthropicInstrumentor().instrument(tracer_provider=cap.provider)
    caplog.set_level(logging.WARNING, logger="opentelemetry.sdk.trace")
    try:
        yield cap
    finally:
        AnthropicInstrumentor().uninstrument()
        cap.shutdown()
    ended_twice = [r for r in caplog.records if "ended span" in r.getMessage()]
    assert not ended_twice, ended_twice


@pytest.fixture
def client(server):
    return anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def aclient(server):
    return anthropic.AsyncAnthropic(
        base_url=server.anthropic_base_url, api_key="sk-test", max_retries=0
    )
