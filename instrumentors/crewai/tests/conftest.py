"""CrewAI kept offline (settings before crewai is imported), a fake LLM server per module, a
span capture per test, and CrewAI + openai instrumentation on it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

_HOME = tempfile.mkdtemp(prefix="crewai-home-")
os.environ.update(
    CREWAI_DISABLE_TELEMETRY="true",
    CREWAI_TRACING_ENABLED="false",
    CREWAI_TESTING="true",
    HOME=_HOME,
    XDG_DATA_HOME=f"{_HOME}/data",
    XDG_CONFIG_HOME=f"{_HOME}/config",
    XDG_CACHE_HOME=f"{_HOME}/cache",
    XDG_STATE_HOME=f"{_HOME}/state",
    OPENAI_API_KEY="sk-test",
)
os.environ.pop("OTEL_SDK_DISABLED", None)  # it would turn our SDK provider into a no-op

import pytest  # noqa: E402

from agentops_crewai import CrewAIInstrumentor  # noqa: E402
from agentops_openai import OpenAIInstrumentor  # noqa: E402
from agentops_otel.testing.spans import SpanCapture  # noqa: E402


@pytest.fixture
def capture() -> Iterator[SpanCapture]:
    with SpanCapture() as cap:
        yield cap


@pytest.fixture
def openai_instrumented(capture: SpanCapture) -> Iterator[None]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield
    instrumentor.uninstrument()


@pytest.fixture
def instrumented(capture: SpanCapture, openai_instrumented: None) -> Iterator[CrewAIInstrumentor]:
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    yield instrumentor
    instrumentor.uninstrument()
