"""Fixtures: the Mistral instrumentor on a fresh span capture, a client of the fake server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agentops_mistral import MistralInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture

try:  # mistralai 2.x and later
    from mistralai.client import Mistral
except ImportError:  # 1.x
    from mistralai import Mistral


@pytest.fixture
def instrumented(capture: SpanCapture) -> Iterator[None]:
    MistralInstrumentor().instrument(tracer_provider=capture.provider)
    yield
    MistralInstrumentor().uninstrument()


@pytest.fixture
def client(server: FakeLLMServer, instrumented: None) -> Any:
    server.clear()
    return Mistral(api_key="mistral-test", server_url=server.mistral_base_url)
