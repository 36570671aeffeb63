"""Fixtures for the LiteLLM instrumentor tests: the fake LLM server, a span capture, no internet.

litellm downloads its model price map at import unless ``LITELLM_LOCAL_MODEL_COST_MAP`` is set,
so it is set here, before any test module imports litellm. An audit hook records every socket
connection or name lookup that is not for the loopback interface, and each test fails if one
happened.
"""

from __future__ import annotations

import os
import sys

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.setdefault("LITELLM_LOG", "ERROR")

import pytest

from agentops_litellm import LiteLLMInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture

_LOCAL = ("127.0.0.1", "::1", "localhost")
_outside: list[object] = []


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and address and address[0] not in _LOCAL:
            _outside.append(address)
    elif event == "socket.getaddrinfo" and args and args[0] not in _LOCAL:
        _outside.append(args[:2])


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def _no_internet():
    yield
    leaked, _outside[:] = list(_outside), []
    assert not leaked, f"a test reached beyond 127.0.0.1: {leaked}"


@pytest.fixture(scope="session")
def server():
    with FakeLLMServer() as fake:
        yield fake


@pytest.fixture
def fake(server):
    """The shared server with an empty request log."""
    server.clear()
    server.clear_rules()
    return server


@pytest.fixture
def capture():
    """Spans of one test, with the instrumentor installed on its provider."""
    spans = SpanCapture()
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    yield spans
    instrumentor.uninstrument()
    spans.shutdown()
