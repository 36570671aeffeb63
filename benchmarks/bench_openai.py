"""Per-call overhead of the OpenAI instrumentor, against the uninstrumented call and a bare span.

The openai SDK talks to an in-process ``httpx.MockTransport`` that returns a canned completion
(or 22 streamed chunks), so the numbers are the SDK plus instrumentation, no network. Modes, all
in one run, interleaved round by round so drift hits every mode alike:

  uninstrumented   the SDK alone
  bare span        the call inside one OTel CLIENT span with 8 attributes (the floor any
                   instrumentation pays)
  ours, content off / on   agentops_openai with content capture off / on

Every traced mode uses the same SDK TracerProvider: our AgentOpsSpanProcessor plus a
SimpleSpanProcessor on an exporter that drops. Times are CPU time of this process; overhead =
mode - uninstrumented (median of the rounds); the ratio is overhead / bare span's overhead.
Targets (DESIGN.md): content off at most 1.5x the bare span's overhead, streamed at most 2x.

Run: /work/main/.venv/bin/python benchmarks/bench_openai.py [--calls 200] [--rounds 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

from agentops_openai import OpenAIInstrumentor
from agentops_otel import _attributes as A
from agentops_otel import _config
from agentops_otel.processor import AgentOpsSpanProcessor

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Write one sentence about the sea."}]
_USAGE = {"prompt_tokens": 24, "completion_tokens": 20, "total_tokens": 44,
          "prompt_tokens_details": {"cached_tokens": 0},
          "completion_tokens_details": {"reasoning_tokens": 0}}
_WORDS = [f"word{i} " for i in range(20)]
_COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": MODEL,
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "".join(_WORDS)}}],
    "usage": _USAGE}).encode()


def _sse() -> bytes:
    """22 chunks: role, 20 words, then finish_reason with usage; then [DONE]."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1,
            "model": MODEL}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]}]
    chunks += [{**base, "choices": [{"index": 0, "delta": {"content": w},
                                     "finish_reason": None}]} for w in _WORDS]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                   "usage": _USAGE})
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


_STREAM_BODY = _sse()


def _handler(request: httpx.Request) -> httpx.Response:
    if b'"stream":true' in request.content.replace(b" ", b""):
        return httpx.Response(200, content=_STREAM_BODY,
                              headers={"content-type": "text/event-stream"})
    return httpx.Response(200, content=_COMPLETION, headers={"content-type": "application/json"})


class _Drop(SpanExporter):
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _client() -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-bench", base_url="http://mock.local/v1", max_retries=0,
                         http_client=httpx.Client(transport=httpx.MockTransport(_handler)))


def _plain(client: openai.OpenAI) -> None:
    client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0.2,
                                   max_tokens=64)


def _streamed(client: openai.OpenAI) -> None:
    for _ in client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0.2,
                                            max_tokens=64, stream=True):
        pass


def _bare(tracer: Any, call: Callable[[openai.OpenAI], None]) -> Callable[[openai.OpenAI], None]:
    """The call inside one span with 8 attributes: what any instrumentation must at least pay."""
    def run(client: openai.OpenAI) -> None:
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes={
            A.GEN_AI_OPERATION_NAME: "chat", A.GEN_AI_PROVIDER_NAME: "openai",
            A.GEN_AI_REQUEST_MODEL: MODEL, A.SERVER_ADDRESS: "mock.local", A.SERVER_PORT: 80,
            A.GEN_AI_REQUEST_TEMPERATURE: 0.2, A.GEN_AI_REQUEST_MAX_TOKENS: 64,
            A.GEN_AI_REQUEST_STREAM: False,
        }) as span:
            call(client)
            span.set_attributes({A.GEN_AI_USAGE_INPUT_TOKENS: 24,
                                 A.GEN_AI_USAGE_OUTPUT_TOKENS: 20})
    return run


def _batch(run: Callable[[openai.OpenAI], None], client: openai.OpenAI, calls: int) -> float:
    """Mean CPU microseconds per call over ``calls`` calls (CPU time of this process: the
    mock transport runs in-process, and CPU time is steadier than wall time on a busy box)."""
    gc.collect()
    start = time.process_time()
    for _ in range(calls):
        run(client)
    return (time.process_time() - start) / calls * 1e6


def _measure(call: Callable[[openai.OpenAI], None], calls: int, rounds: int,
             provider: TracerProvider) -> dict[str, float]:
    client = _client()
    tracer = provider.get_tracer("bench")
    instrumentor = OpenAIInstrumentor()
    settings = _config.current()
    modes: dict[str, tuple[Callable[[openai.OpenAI], None], bool | None]] = {
        "uninstrumented": (call, None),
        "bare span": (_bare(tracer, call), None),
        "ours, content off": (call, False),
        "ours, content on": (call, True),
    }
    samples: dict[str, list[float]] = {name: [] for name in modes}
    for round_ in range(rounds + 1):  # round 0 warms up
        for name, (run, content) in modes.items():
            if content is not None:
                _config.install(dataclasses.replace(settings, capture_content=content))
                instrumentor.instrument(tracer_provider=provider)
            try:
                value = _batch(run, client, calls)
            finally:
                if content is not None:
                    instrumentor.uninstrument()
                    _config.install(settings)
            if round_:
                samples[name].append(value)
    return {name: statistics.median(values) for name, values in samples.items()}


def _report(title: str, result: dict[str, float], target: float) -> None:
    base = result["uninstrumented"]
    bare = result["bare span"] - base
    print(f"\n{title}")
    print(f"  {'mode':<20}{'us/call':>10}{'overhead us':>13}{'x bare':>9}")
    for name, value in result.items():
        over = value - base
        ratio = f"{over / bare:.2f}" if name != "uninstrumented" and bare > 0 else "-"
        print(f"  {name:<20}{value:>10.1f}{over:>+13.1f}{ratio:>9}")
    off = (result["ours, content off"] - base) / bare if bare > 0 else float("inf")
    verdict = "met" if off <= target else "NOT met"
    print(f"  target: content off <= {target}x the bare span's overhead -> {off:.2f}x ({verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per batch")
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds per mode")
    args = parser.parse_args()
    provider = TracerProvider()
    provider.add_span_processor(AgentOpsSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(_Drop()))
    print(f"openai {openai.__version__}, {args.calls} calls x {args.rounds} rounds per mode")
    _report("Non-streamed chat completion", _measure(_plain, args.calls, args.rounds, provider),
            1.5)
    _report("Streamed chat completion (22 chunks)",
            _measure(_streamed, args.calls, args.rounds, provider), 2.0)


if __name__ == "__main__":
    main()
