"""Content capture cost as a conversation grows: 10, 100, 1,000 messages per request.

    .venv/bin/python benchmarks/bench_content.py [--rounds 9]

The openai SDK over the mock transport; modes uninstrumented / ours content off / ours content
on, interleaved per round, CPU time per call, medians. Reports the overhead per call at each
size and the size of what was captured (largest attribute on the LLM span), so the per-call
limits can be seen to hold: overhead at 1,000 messages stays within a small multiple of the
overhead at 10 (the SDK's own cost, in the uninstrumented column, grows with the request).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import statistics
from collections.abc import Sequence
from typing import Any

import _mock_openai as m
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentops_openai import OpenAIInstrumentor
from agentops_otel import _config
from agentops_otel.processor import AgentOpsSpanProcessor

HERE = pathlib.Path(__file__).resolve().parent
SIZES = (10, 100, 1000)


class _Keep(m.DropExporter):
    """Keeps the size of the largest attribute of the last span."""

    largest = 0

    def export(self, spans: Sequence[Any]) -> Any:
        for span in spans:
            self.largest = max((len(str(v)) for v in (span.attributes or {}).values()), default=0)
        return super().export(spans)


def _conversation(n: int) -> list[dict[str, str]]:
    turns = [{"role": "system", "content": "You are a helpful assistant."}]
    for i in range(n - 1):
        role = "user" if i % 2 == 0 else "assistant"
        turns.append({"role": role, "content": f"message {i}: " + "lorem ipsum dolor " * 10})
    return turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    exporter = _Keep()
    provider = TracerProvider()
    provider.add_span_processor(AgentOpsSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    settings = _config.current()
    client = m.client()
    modes = {"uninstrumented": None, "content off": False, "content on": True}
    samples: dict[tuple[int, str], list[float]] = {}
    captured: dict[int, int] = {}
    for round_ in range(args.rounds + 1):
        for size in SIZES:
            messages = _conversation(size)

            def call(c: Any, messages: list[dict[str, str]] = messages) -> None:
                m.plain(c, messages)

            for mode, content in modes.items():
                if content is not None:
                    _config.install(dataclasses.replace(settings, capture_content=content))
                    instrumentor.instrument(tracer_provider=provider)
                try:
                    value = m.batch_cpu_us(call, client, args.calls)
                finally:
                    if content is not None:
                        instrumentor.uninstrument()
                        _config.install(settings)
                if content:
                    captured[size] = exporter.largest
                if round_:
                    samples.setdefault((size, mode), []).append(value)
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(
        f"Content capture vs conversation length (CPU us per call, medians of {args.rounds} "
        f"rounds x {args.calls} calls; max_content_chars={settings.max_content_chars})"
    )
    print(
        f"  {'messages':>8} {'uninstrumented':>15} {'+content off':>13} {'+content on':>12} "
        f"{'largest attribute (chars)':>26}"
    )
    result = {}
    for size in SIZES:
        base = med[(size, "uninstrumented")]
        off, on = med[(size, "content off")] - base, med[(size, "content on")] - base
        print(f"  {size:>8} {base:>15.0f} {off:>+13.0f} {on:>+12.0f} {captured[size]:>26}")
        result[size] = {
            "uninstrumented_us": base,
            "content_off_us": off,
            "content_on_us": on,
            "largest_attribute_chars": captured[size],
        }
    growth = result[1000]["content_on_us"] / result[10]["content_on_us"]
    print(f"  content on: overhead at 1,000 messages = {growth:.1f}x the overhead at 10")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "content.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
