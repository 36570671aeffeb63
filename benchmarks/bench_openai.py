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

Same-environment companion of bench_peers.py (which runs the peers too, each in its own
environment); quicker for iterating on the instrumentor.

Run: /work/main/.venv/bin/python benchmarks/bench_openai.py [--calls 200] [--rounds 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from collections.abc import Callable

import _mock_openai as m
import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentops_openai import OpenAIInstrumentor
from agentops_otel import _config
from agentops_otel.processor import AgentOpsSpanProcessor


def _batch(run: Callable[[openai.OpenAI], None], client: openai.OpenAI, calls: int) -> float:
    return m.batch_cpu_us(run, client, calls)


def _measure(
    call: Callable[[openai.OpenAI], None], calls: int, rounds: int, provider: TracerProvider
) -> dict[str, float]:
    client = m.client()
    tracer = provider.get_tracer("bench")
    instrumentor = OpenAIInstrumentor()
    settings = _config.current()
    modes: dict[str, tuple[Callable[[openai.OpenAI], None], bool | None]] = {
        "uninstrumented": (call, None),
        "bare span": (m.bare(tracer, call), None),
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
    provider.add_span_processor(SimpleSpanProcessor(m.DropExporter()))
    print(f"openai {openai.__version__}, {args.calls} calls x {args.rounds} rounds per mode")
    _report(
        "Non-streamed chat completion", _measure(m.plain, args.calls, args.rounds, provider), 1.5
    )
    _report(
        "Streamed chat completion (22 chunks)",
        _measure(m.streamed, args.calls, args.rounds, provider),
        2.0,
    )


if __name__ == "__main__":
    main()
