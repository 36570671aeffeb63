"""An app that set its own global SDK tracer provider, then ``agentops_otel.init()`` (or not:
``bare``). Runs a two-agent team against the fake server given as argv[1] and prints every span
the app's exporter received as JSON lines. Run by test_autogen in a child process, since the
global provider can be set once per process."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import warnings

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentops_otel

os.environ["AUTOGEN_DISABLE_RUNTIME_TRACING"] = "true"
warnings.filterwarnings("ignore", message="Resolved model mismatch")
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
if sys.argv[2] == "init":
    agentops_otel.init(instrument=["openai", "autogen"], local_store=False, session_name="app")

# AgentChat is imported after init(): the instrumentor applies on its first import.
from autogen_agentchat.agents import AssistantAgent  # noqa: E402
from autogen_agentchat.conditions import MaxMessageTermination  # noqa: E402
from autogen_agentchat.teams import RoundRobinGroupChat  # noqa: E402
from autogen_core.models import ModelInfo  # noqa: E402
from autogen_ext.models.openai import OpenAIChatCompletionClient  # noqa: E402


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


async def main() -> None:
    client = OpenAIChatCompletionClient(
        model="gpt-4o-mini",
        base_url=sys.argv[1],
        api_key="sk-test",
        max_retries=0,
        model_info=ModelInfo(
            vision=False,
            function_calling=True,
            json_output=False,
            family="gpt-4o",
            structured_output=False,
        ),
    )
    weather = AssistantAgent(
        "weather",
        model_client=client,
        tools=[get_weather],
        description="Looks up the weather",
        reflect_on_tool_use=True,
    )
    writer = AssistantAgent("writer", model_client=client, description="Writes the answer")
    team = RoundRobinGroupChat([weather, writer], termination_condition=MaxMessageTermination(4))
    await team.run(task="weather in Paris?")


asyncio.run(main())
agentops_otel.end_session()
agentops_otel.flush(5)
for span in exporter.get_finished_spans():
    print(
        json.dumps(
            {
                "name": span.name,
                "scope": span.instrumentation_scope.name,
                "id": span.context.span_id,
                "parent": span.parent.span_id if span.parent else None,
                "attributes": dict(span.attributes or {}),
            },
            default=list,
        )
    )
