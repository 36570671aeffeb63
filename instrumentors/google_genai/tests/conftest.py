"""Fixtures: a SpanCapture with the instrumentor on it per test; Gemini API and Vertex clients on
the module's fake server (dummy key and token: nothing leaves 127.0.0.1)."""

from __future__ import annotations

import logging

import pytest
from google import genai
from google.oauth2.credentials import Credentials

from agentops_google_genai import GoogleGenAIInstrumentor
from agentops_otel.testing.spans import SpanCapture


@pytest.fixture
def capture(caplog):
    """Instrumented for the test; fails it if any span of ours was ended twice."""
    cap = SpanCapture()
    GoogleGenAIInstrumentor().instrument(tracer_provider=cap.provider)
    caplog.set_level(logging.WARNING, logger="opentelemetry.sdk.trace")
    try:
        yield cap
    finally:
        GoogleGenAIInstrumentor().uninstrument()
        cap.shutdown()
    ended_twice = [r for r in caplog.records if "ended span" in r.getMessage()]
    assert not ended_twice, ended_twice


@pytest.fixture
def client(server):
    """Gemini Developer API."""
    return genai.Client(api_key="test-key", http_options={"base_url": server.url})


@pytest.fixture
def vertex(server):
    """Vertex AI, project mode: a dummy OAuth token stands in for Google auth."""
    return genai.Client(vertexai=True, project="test-project", location="us-central1",
                        credentials=Credentials(token="test-token"),
                        http_options={"base_url": server.url})
