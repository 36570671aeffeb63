"""Core overheads, measured in one run: decorators against a bare OTel span, the processor per
span, and ``import agentops_otel`` + ``init()`` in a fresh interpreter.

    .venv/bin/python benchmarks/bench_core.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

N = 20_000
ROUNDS = 7


class _Drop(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


def _per_call_us(fn, n=N) -> float:
    best = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(best)


def decorator_overhead() -> dict[str, float]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_Drop()))
    trace.set_tracer_provider(provider)
    import agentops_otel as ao

    ao.init(instrument=False, local_store=False, auto_start_session=False)
    tracer = provider.get_tracer("bench")
    attrs = {"a.b": "x", "c.d": 1, "e.f": "y", "g.h": 2}

    def plain():
        return None

    def bare_span():
        with tracer.start_as_current_span("op", attributes=attrs):
            return None

    @ao.operation
    def decorated():
        return None

    @ao.tool
    def decorated_tool(x):
        return x

    results = {}
    with ao.session("bench"):
        base = _per_call_us(plain)
        results["undecorated call"] = base
        results["bare OTel span (4 attributes)"] = _per_call_us(bare_span) - base
        results["@operation, no arguments"] = _per_call_us(decorated) - base
        results["@tool with an argument (content on)"] = _per_call_us(
            lambda: decorated_tool(1)) - base
        from dataclasses import replace

        from agentops_otel import _config

        _config.install(replace(_config.current(), capture_content=False))
        results["@tool with an argument (content off)"] = _per_call_us(
            lambda: decorated_tool(1)) - base
    return results


def import_and_init_ms(runs: int = 5) -> float:
    code = (
        "import time; t=time.perf_counter(); import agentops_otel as ao; "
        "ao.init(); print((time.perf_counter()-t)*1000)"
    )
    env = {**os.environ, "AGENTOPS_OTEL_HOME": "/tmp/agentops-bench-home"}
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    results = decorator_overhead()
    bare = results["bare OTel span (4 attributes)"]
    print(f"{'case':45} {'us/call':>9} {'x bare span':>12}")
    for name, value in results.items():
        ratio = "" if name == "undecorated call" else f"{value / bare:12.2f}"
        print(f"{name:45} {value:9.2f} {ratio}")
    print(f"\nimport agentops_otel + init() (every instrumentor discovered), median of 5 "
          f"fresh interpreters: {import_and_init_ms():.1f} ms")


if __name__ == "__main__":
    main()
