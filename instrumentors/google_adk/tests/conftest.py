"""ADK (with litellm and the openai SDK beneath it) instrumented onto the per-test span capture;
litellm reads its local price map instead of downloading one."""

from __future__ import annotations

import os

from agentops_google_adk import GoogleADKInstrumentor
from agentops_litellm import LiteLLMInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.fixtures import instrumented_fixtures

os.environ.update(LITELLM_LOCAL_MODEL_COST_MAP="True", OPENAI_API_KEY="sk-test")
providers_instrumented, instrumented = instrumented_fixtures(
    GoogleADKInstrumentor, LiteLLMInstrumentor, OpenAIInstrumentor
)
