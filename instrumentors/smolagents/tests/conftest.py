"""smolagents (with the openai SDK beneath it) instrumented onto the per-test span capture."""

from __future__ import annotations

import os

from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.fixtures import instrumented_fixtures
from agentops_smolagents import SmolagentsInstrumentor

os.environ.setdefault("OPENAI_API_KEY", "sk-test")
providers_instrumented, instrumented = instrumented_fixtures(
    SmolagentsInstrumentor, OpenAIInstrumentor
)
