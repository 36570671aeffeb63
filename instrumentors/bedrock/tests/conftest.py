"""Fixtures: a SpanCapture with the instrumentor on it per test; a bedrock-runtime client on the
module's fake server with dummy credentials (nothing leaves 127.0.0.1)."""

from __future__ import annotations

import pytest
from _bedrock_helpers import make_client

from agentops_bedrock import BedrockInstrumentor
from agentops_otel.testing.spans import instrumented


@pytest.fixture
def capture(caplog):
    """Instrumented for the test; fails it if any span of ours was ended twice."""
    with instrumented(BedrockInstrumentor(), caplog) as cap:
        yield cap


@pytest.fixture
def client(server):
    return make_client(server)
