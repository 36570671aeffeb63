"""A program instrumented by ``agentops_otel.init()`` alone (run by test_init_app, in a child
process since init() owns the process's tracer provider). Prints its spans as JSON lines."""

from __future__ import annotations

import asyncio
import json
import sys

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentops_otel

exporter = InMemorySpanExporter()
agentops_otel.init(
    exporters=[exporter],
    local_store=False,
    instrument=["openai", "openai_agents"],
    session_name="app",
)

# The SDK is imported after init(): the instrumentor applies on its first import.
from agents import Agent, Runner, function_tool, set_default_openai_client  # noqa: E402
from agents.tracing import get_trace_provider  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402


@function_tool
def lookup(term: str) -> str:
    """Look a term up."""
    return f"found {term}"


async def main(base_url: str) -> str:
    set_default_openai_client(
        AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0), use_for_tracing=False
    )
    agent = Agent(name="Researcher", instructions="x", model="gpt-4o-mini", tools=[lookup])
    return (await Runner.run(agent, "look up otel")).final_output


output = asyncio.run(main(sys.argv[1]))
agentops_otel.end_session()
agentops_otel.flush(5)
processors = [type(p).__name__ for p in get_trace_provider()._multi_processor._processors]
print(json.dumps({"output": output, "processors": processors}))
for span in exporter.get_finished_spans():
    parent = span.parent.span_id if span.parent else None
    print(
        json.dumps(
            {
                "name": span.name,
                "id": span.context.span_id,
                "parent": parent,
                "attributes": dict(span.attributes or {}),
            },
            default=list,
        )
    )
