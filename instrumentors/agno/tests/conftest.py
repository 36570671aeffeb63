"""Agno (with the openai SDK beneath it) instrumented onto the per-test span capture; Agno's
usage telemetry off."""

from __future__ import annotations

import os

from agentops_agno import AgnoInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_otel.testing.fixtures import instrumented_fixtures

os.environ.update(OPENAI_API_KEY="sk-test", AGNO_TELEMETRY="false")
providers_instrumented, instrumented = instrumented_fixtures(AgnoInstrumentor, OpenAIInstrumentor)
