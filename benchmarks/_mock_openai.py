"""The openai SDK over an in-process mock transport, shared by every OpenAI benchmark.

No agentops_otel import here: the peer benchmark environments load this module too. Attribute
names come from ``agentops_otel/semconv.py``, loaded by path (it is a plain constants module).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import pathlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import openai
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind


def _load_attributes() -> Any:
    path = pathlib.Path(__file__).resolve().parent.parent / "agentops_otel" / "semconv.py"
    spec = importlib.util.spec_from_file_location("_bench_attributes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


A = _load_attributes()
MODEL = "gpt-4o-mini"
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write one sentence about the sea."},
]
_USAGE = {
    "prompt_tokens": 24,
    "completion_tokens": 20,
    "total_tokens": 44,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
_WORDS = [f"word{i} " for i in range(20)]
_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "".join(_WORDS)},
            }
        ],
        "usage": _USAGE,
    }
).encode()


def _sse() -> bytes:
    """22 chunks: role, 20 words, then finish_reason with usage; then [DONE]."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    chunks = [
        {
            **base,
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ],
        }
    ]
    chunks += [
        {**base, "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
        for w in _WORDS
    ]
    chunks.append(
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": _USAGE}
    )
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


STREAM_CHUNKS = 22
_STREAM_BODY = _sse()


def _handler(request: httpx.Request) -> httpx.Response:
    if b'"stream":true' in request.content.replace(b" ", b""):
        return httpx.Response(
            200, content=_STREAM_BODY, headers={"content-type": "text/event-stream"}
        )
    return httpx.Response(200, content=_COMPLETION, headers={"content-type": "application/json"})


class DropExporter(SpanExporter):
    """Accepts and forgets spans, counting them (a check that each mode traces what it should)."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def client() -> openai.OpenAI:
    """An OpenAI client whose requests never leave the process."""
    return openai.OpenAI(
        api_key="sk-bench",
        base_url="http://mock.local/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(_handler)),
    )


def plain(c: openai.OpenAI, messages: list[dict[str, Any]] = MESSAGES) -> None:
    """One non-streamed chat completion."""
    c.chat.completions.create(model=MODEL, messages=messages, temperature=0.2, max_tokens=64)


def streamed(c: openai.OpenAI) -> None:
    """One streamed chat completion, read to the end (22 chunks, usage in the last)."""
    for _ in c.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        temperature=0.2,
        max_tokens=64,
        stream=True,
        stream_options={"include_usage": True},
    ):
        pass


def bare(tracer: Any, call: Callable[[openai.OpenAI], None]) -> Callable[[openai.OpenAI], None]:
    """The call inside one CLIENT span with 8 attributes at start and 2 at the end: the floor
    any instrumentation pays."""

    def run(c: openai.OpenAI) -> None:
        with tracer.start_as_current_span(
            "chat gpt-4o-mini",
            kind=SpanKind.CLIENT,
            attributes={
                A.GEN_AI_OPERATION_NAME: "chat",
                A.GEN_AI_PROVIDER_NAME: "openai",
                A.GEN_AI_REQUEST_MODEL: MODEL,
                A.SERVER_ADDRESS: "mock.local",
                A.SERVER_PORT: 80,
                A.GEN_AI_REQUEST_TEMPERATURE: 0.2,
                A.GEN_AI_REQUEST_MAX_TOKENS: 64,
                A.GEN_AI_REQUEST_STREAM: False,
            },
        ) as span:
            call(c)
            span.set_attributes({A.GEN_AI_USAGE_INPUT_TOKENS: 24, A.GEN_AI_USAGE_OUTPUT_TOKENS: 20})

    return run


def batch_cpu_us(run: Callable[[openai.OpenAI], None], c: openai.OpenAI, calls: int) -> float:
    """Mean CPU microseconds of this process per call over ``calls`` calls. CPU time, not wall
    time: the transport is in-process, and CPU time is steadier on a shared machine."""
    gc.collect()
    start = time.process_time()
    for _ in range(calls):
        run(c)
    return (time.process_time() - start) / calls * 1e6
