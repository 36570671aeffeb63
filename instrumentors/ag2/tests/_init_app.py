"""A program instrumented by ``agentops_otel.init()`` alone (run by test_ag2_init in a child
process, since init() owns the process's tracer provider): one tool round trip on whichever AG2
line is installed, imported after init(). Prints its spans as JSON lines."""

from __future__ import annotations

import asyncio
import json
import sys

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentops_otel

exporter = InMemorySpanExporter()
agentops_otel.init(
    exporters=[exporter], local_store=False, instrument=["openai", "ag2"], session_name="app"
)


def get_weather(city: str) -> str:
    """Weather in a city."""
    return f"sunny in {city}"


def classic(base_url: str) -> None:
    from autogen import ConversableAgent, register_function

    config = {
        "config_list": [
            {
                "model": "gpt-4o-mini",
                "api_key": "sk-test",
                "base_url": base_url,
                "api_type": "openai",
            }
        ],
        "cache_seed": None,
    }
    assistant = ConversableAgent(
        "assistant", llm_config=config, human_input_mode="NEVER", code_execution_config=False
    )
    user = ConversableAgent(
        "user", llm_config=False, human_input_mode="NEVER", code_execution_config=False
    )
    register_function(get_weather, caller=assistant, executor=user, description="Weather")
    user.initiate_chat(assistant, message="Weather in Paris?", max_turns=2, silent=True)


def v1(base_url: str) -> None:
    from ag2 import Agent, tool
    from ag2.config import OpenAIConfig

    config = OpenAIConfig(model="gpt-4o-mini", api_key="sk-test", base_url=base_url, max_retries=0)
    asyncio.run(Agent("assistant", config=config, tools=[tool(get_weather)]).ask("Weather?"))


(classic if sys.argv[2] == "classic" else v1)(sys.argv[1])
agentops_otel.end_session()
agentops_otel.flush(5)
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
