"""Fixtures: the fake LLM server, a span capture with the openai and AutoGen instrumentors, and
AgentChat agents whose model client points at the fake server (nothing leaves 127.0.0.1)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

os.environ["AUTOGEN_DISABLE_RUNTIME_TRACING"] = "true"
os.environ.setdefault("OPENAI_API_KEY", "sk-test")

import pytest
from autogen_core.models import ModelInfo
from autogen_ext.models.openai import OpenAIChatCompletionClient

from agentops_autogen import AutoGenInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture

MODEL_INFO = ModelInfo(
    vision=False, function_calling=True, json_output=False, family="gpt-4o", structured_output=False
)


def pytest_configure(config: pytest.Config) -> None:
    # The fake server answers with a dated model name; autogen warns about the mismatch.
    config.addinivalue_line("filterwarnings", "ignore:Resolved model mismatch:UserWarning")


@pytest.fixture
def model_client(server: FakeLLMServer) -> Callable[..., OpenAIChatCompletionClient]:
    """A factory: ``model_client(model="gpt-4o-mini", **create_args)``."""
    server.clear()

    def make(model: str = "gpt-4o-mini", **kwargs: object) -> OpenAIChatCompletionClient:
        return OpenAIChatCompletionClient(
            model=model,
            base_url=server.openai_base_url,
            api_key="sk-test",
            model_info=MODEL_INFO,
            max_retries=0,
            **kwargs,
        )

    return make


@pytest.fixture
def capture(model_client: object) -> Iterator[SpanCapture]:
    cap = SpanCapture()
    OpenAIInstrumentor().instrument(tracer_provider=cap.provider)
    AutoGenInstrumentor().instrument(tracer_provider=cap.provider)
    try:
        yield cap
    finally:
        AutoGenInstrumentor().uninstrument()
        OpenAIInstrumentor().uninstrument()
        cap.shutdown()
