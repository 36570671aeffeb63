"""Shared by the Python ingest apps: OTLP/HTTP export configured by the standard ``OTEL_*``
variables (the test points them at ``agentops-otel serve``) and the conversation each app has
with the fake LLM server (``OPENAI_BASE_URL``): a tool round trip, then a streamed answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

MODEL = "gpt-4o-mini"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def export_to(provider: TracerProvider) -> TracerProvider:
    """``provider`` exporting its spans over OTLP/HTTP (endpoint from the environment)."""
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def logger_provider() -> LoggerProvider:
    provider = LoggerProvider()
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    return provider


def conversation(client: Any, weather: Callable[[str], str]) -> None:
    """Tool call, the tool, the answer (two model calls), then one streamed call."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER])
    call = first.choices[0].message.tool_calls[0]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    result = weather(**json.loads(call.function.arguments))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER])
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Say hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
