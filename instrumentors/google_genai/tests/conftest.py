"""Fixtures: a SpanCapture with the instrumentor on it per test; Gemini API and Vertex clients on
the module's fake server (dummy key and token: nothing leaves 127.0.0.1)."""

from __future__ import annotations

import pytest
from google import genai
from google.oauth2.credentials import Credentials

from agentops_google_genai import GoogleGenAIInstrumentor
from agentops_otel.testing.spans import instrumented


@pytest.fixture
def capture(caplog):
    """Instrumented for the test; fails it if any span of ours was ended twice."""
    with instrumented(GoogleGenAIInstrumentor(), caplog) as cap:
        yield cap


@pytest.fixture
def client(server):
    """Gemini Developer API."""
    return genai.Client(api_key="test-key", http_options={"base_url": server.url})


@pytest.fixture
def vertex(server):
    """Vertex AI, project mode: a dummy OAuth token stands in for Google auth."""
    return genai.Client(
        vertexai=True,
        project="test-project",
        location="us-central1",
        credentials=Credentials(token="test-token"),
        http_options={"base_url": server.url},
    )
