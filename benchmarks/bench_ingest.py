"""OTLP ingest through ``serve`` with the foreign-convention normalizer, against the same ingest
without it (the writer as it was before: attributes stored as sent).

    .venv/bin/python benchmarks/bench_ingest.py [--spans 20000] [--rounds 3]

Each workload is a list of sessions (root, agent, LLM calls with prompts and completions, a tool)
in one span convention: ours (``agentops.span.kind``: passes through), OpenInference, the Vercel
AI SDK (``ai.*``) and OpenLLMetry. It is posted as OTLP/protobuf in batches of 512 to the app
in-process (Starlette's test client, a fresh store each time); before/after alternate for
``--rounds`` rounds and the best of each is reported. Also: ``normalize()`` alone, per span.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from starlette.testclient import TestClient

from agentops_otel import semconv as A
from agentops_otel.dashboard import create_app
from agentops_otel.store import _writer
from agentops_otel.store._normalize import normalize

BATCH = 512
RESOURCE = Resource({"service.name": "bench"})
SCOPE = InstrumentationScope("bench")
PROMPT = "Where is my refund for invoice 4411? The shipping address changed last week."


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def ours(i: int) -> dict[str, dict[str, Any]]:
    return {
        "root": {A.SPAN_KIND: A.KIND_SESSION, A.SESSION_ID: f"s{i}"},
        "agent": {A.SPAN_KIND: A.KIND_AGENT, A.AGENT_NAME: "planner", A.SESSION_ID: f"s{i}"},
        "llm": {
            A.SPAN_KIND: A.KIND_LLM,
            A.SESSION_ID: f"s{i}",
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_PROVIDER_NAME: "openai",
            A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            A.GEN_AI_USAGE_INPUT_TOKENS: 500,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 50,
            A.GEN_AI_INPUT_MESSAGES: _messages("user", PROMPT),
            A.GEN_AI_OUTPUT_MESSAGES: _messages("assistant", "done " + PROMPT),
        },
        "tool": {A.SPAN_KIND: A.KIND_TOOL, A.GEN_AI_TOOL_NAME: "lookup", A.SESSION_ID: f"s{i}"},
    }


def openinference(i: int) -> dict[str, dict[str, Any]]:
    return {
        "root": {"openinference.span.kind": "CHAIN", "session.id": f"s{i}", "input.value": "{}"},
        "agent": {"openinference.span.kind": "AGENT", "session.id": f"s{i}"},
        "llm": {
            "openinference.span.kind": "LLM",
            "session.id": f"s{i}",
            "llm.model_name": "gpt-4o-mini",
            "llm.system": "openai",
            "llm.token_count.prompt": 500,
            "llm.token_count.completion": 50,
            "llm.token_count.prompt_details.cache_read": 100,
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "You are helpful.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": PROMPT,
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "done " + PROMPT,
            "input.value": json.dumps({"messages": [{"role": "user", "content": PROMPT}]}),
        },
        "tool": {"openinference.span.kind": "TOOL", "tool.name": "lookup", "session.id": f"s{i}"},
    }


def vercel(i: int) -> dict[str, dict[str, Any]]:
    usage = {
        "ai.usage.inputTokens": 500,
        "ai.usage.outputTokens": 50,
        "ai.usage.inputTokenDetails.cacheReadTokens": 100,
    }
    return {
        "root": {
            "ai.operationId": "ai.generateText",
            "ai.model.id": "gpt-4o-mini",
            **usage,
            "ai.prompt": json.dumps({"prompt": PROMPT}),
        },
        "agent": {"ai.operationId": "ai.generateText", "ai.telemetry.functionId": "planner"},
        "llm": {
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.model.id": "gpt-4o-mini",
            "ai.model.provider": "openai.chat",
            "gen_ai.system": "openai.chat",
            **usage,
            "ai.prompt.messages": json.dumps(
                [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}]
            ),
            "ai.response.text": "done " + PROMPT,
        },
        "tool": {
            "ai.operationId": "ai.toolCall",
            "ai.toolCall.name": "lookup",
            "ai.toolCall.args": "{}",
            "ai.toolCall.result": "ok",
        },
    }


def openllmetry(i: int) -> dict[str, dict[str, Any]]:
    return {
        "root": {
            "traceloop.span.kind": "workflow",
            "traceloop.entity.name": "flow",
            "traceloop.workflow.name": "flow",
        },
        "agent": {
            "traceloop.span.kind": "agent",
            "traceloop.entity.name": "planner",
            "gen_ai.agent.name": "planner",
        },
        "llm": {
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.prompt_tokens": 500,
            "gen_ai.usage.completion_tokens": 50,
            "gen_ai.usage.cache_read_input_tokens": 100,
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": PROMPT,
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "done " + PROMPT,
        },
        "tool": {"traceloop.span.kind": "tool", "traceloop.entity.name": "lookup"},
    }


WORKLOADS: dict[str, Callable[[int], dict[str, dict[str, Any]]]] = {
    "ours (pass-through)": ours,
    "OpenInference": openinference,
    "Vercel AI SDK (ai.*)": vercel,
    "OpenLLMetry": openllmetry,
}


def _span(
    trace_id: int, n: int, parent: int | None, name: str, attrs: dict[str, Any]
) -> ReadableSpan:
    base, start = trace_id << 8, 10**18 + trace_id * 10**9
    return ReadableSpan(
        name,
        SpanContext(trace_id, base + n, False, TraceFlags(1)),
        SpanContext(trace_id, base + parent, False) if parent else None,
        resource=RESOURCE,
        attributes=attrs,
        kind=SpanKind.INTERNAL,
        start_time=start + n,
        end_time=start + 10**6 + n,
        instrumentation_scope=SCOPE,
    )


def spans_of(make: Callable[[int], dict[str, dict[str, Any]]], total: int) -> list[ReadableSpan]:
    """Sessions of 8 spans (root, agent, 5 LLM calls, a tool) until ``total`` spans."""
    out: list[ReadableSpan] = []
    i = 0
    while len(out) < total:
        attrs, trace = make(i), i + 1
        out += [
            _span(trace, 1, None, "root", attrs["root"]),
            _span(trace, 2, 1, "agent", attrs["agent"]),
            *(_span(trace, 3 + k, 2, "chat gpt-4o-mini", attrs["llm"]) for k in range(5)),
            _span(trace, 8, 2, "lookup", attrs["tool"]),
        ]
        i += 1
    return out[:total]


def ingest_rate(spans: list[ReadableSpan], normalized: bool) -> float:
    bodies = [
        encode_spans(spans[i : i + BATCH]).SerializeToString() for i in range(0, len(spans), BATCH)
    ]
    original = _writer.normalize
    if not normalized:
        _writer.normalize = lambda attrs, name=None: attrs  # the writer before this change
    try:
        with (
            tempfile.TemporaryDirectory() as home,
            TestClient(create_app(Path(home) / "traces.db"), base_url="http://127.0.0.1") as client,
        ):
            began = time.perf_counter()
            for body in bodies:
                response = client.post(
                    "/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"}
                )
                assert response.status_code == 200, response.text
            return len(spans) / (time.perf_counter() - began)
    finally:
        _writer.normalize = original


def normalize_us(spans: list[ReadableSpan]) -> float:
    attrs = [(dict(s.attributes), s.name) for s in spans]
    began = time.perf_counter()
    for a, name in attrs:
        normalize(a, name)
    return (time.perf_counter() - began) / len(attrs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(
        f"| workload ({args.spans:,} spans) | before: spans/s | with normalizer: spans/s "
        "| ratio | normalize() alone, us/span |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, make in WORKLOADS.items():
        spans = spans_of(make, args.spans)
        before = after = 0.0
        for _ in range(args.rounds):
            before = max(before, ingest_rate(spans, normalized=False))
            after = max(after, ingest_rate(spans, normalized=True))
        print(
            f"| {label} | {before:,.0f} | {after:,.0f} | {after / before:.2f} "
            f"| {normalize_us(spans):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
