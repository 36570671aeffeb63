"""Export throughput: spans/s through the SDK pipeline to a local OTLP/HTTP receiver.

Compares, in one run and on one core for the app (the receiver runs in another process, on another
core when there is one):
  baseline  TracerProvider + BatchSpanProcessor(OTLPSpanExporter)
  ours      TracerProvider + agentops_otel.export processors (same OTLP exporter underneath)
  ours+enrich  the same with AgentOpsSpanProcessor in front, when the core provides it
and prints the ratio ours / baseline (target >= 0.8). Throughput counts spans the receiver got,
from the first span started to the last one delivered.

Run: /work/main/.venv/bin/python benchmarks/bench_export.py [--spans 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import time
import urllib.request

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from agentops_otel import semconv as A
from agentops_otel._config import Settings
from agentops_otel.export import build_span_processors
from agentops_otel.testing.otlp_receiver import OtlpReceiver


def _serve(port_out: multiprocessing.Queue) -> None:
    """Receiver process: count spans per run; ``GET``-less, so counts come back via ``/count``."""
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {1})
    counts = {"spans": 0}

    def traces(handler, body: bytes) -> tuple[int, dict]:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        counts["spans"] += sum(
            len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans
        )
        return 200, {}

    def count(handler, body: bytes) -> tuple[int, dict]:
        return 200, dict(counts)

    def reset(handler, body: bytes) -> tuple[int, dict]:
        counts["spans"] = 0
        return 200, {}

    with OtlpReceiver(routes={"/v1/traces": traces, "/count": count, "/reset": reset}) as rcv:
        port_out.put(rcv.url)
        while True:
            time.sleep(3600)


def _post(url: str) -> dict:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _attrs(i: int) -> dict:
    return {
        A.SPAN_KIND: A.KIND_LLM,
        A.SESSION_ID: "bench-session",
        A.SESSION_NAME: "bench",
        A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
        A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        A.GEN_AI_PROVIDER_NAME: "openai",
        A.GEN_AI_USAGE_INPUT_TOKENS: 100 + i % 7,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: 20,
        A.COST_USD: 0.0001,
    }


def _enricher() -> type[SpanProcessor] | None:
    try:
        from agentops_otel.processor import AgentOpsSpanProcessor
    except ImportError:
        return None
    return AgentOpsSpanProcessor


def _run(url: str, processors: list[SpanProcessor], n: int) -> tuple[float, int]:
    _post(url + "/reset")
    provider = TracerProvider(shutdown_on_exit=False)
    for processor in processors:
        provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")
    start = time.perf_counter()
    with tracer.start_as_current_span(
        "session bench", attributes={A.SPAN_KIND: A.KIND_SESSION, A.SESSION_ID: "bench-session"}
    ):
        for i in range(n):
            with tracer.start_as_current_span("chat gpt-4o-mini", attributes=_attrs(i)):
                pass
    provider.force_flush(60_000)
    deadline = time.perf_counter() + 30
    while (got := _post(url + "/count")["spans"]) < n + 1 and time.perf_counter() < deadline:
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    provider.shutdown()
    return got / elapsed, got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.spans
    ctx = multiprocessing.get_context("spawn")
    port_out = ctx.Queue()
    server = ctx.Process(target=_serve, args=(port_out,), daemon=True)
    server.start()
    url = port_out.get(timeout=30)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    traces = url + "/v1/traces"
    settings = Settings(otlp_endpoint=url, local_store=False, max_queue_size=n + 16)

    def baseline() -> list[SpanProcessor]:
        return [
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=traces), max_queue_size=n + 16, max_export_batch_size=512
            )
        ]

    def ours() -> list[SpanProcessor]:
        return list(build_span_processors(settings))

    pipelines = {"baseline": baseline, "ours": ours}
    enricher_type = _enricher()
    if enricher_type is not None:
        pipelines["ours+enrich"] = lambda: [enricher_type(), *ours()]
    _run(url, baseline(), 2000)  # warm up imports, connections and the receiver
    rates: dict[str, list[float]] = {name: [] for name in pipelines}
    delivered: dict[str, int] = {}
    for _ in range(args.repeats):  # interleaved, so drift hits every pipeline alike
        for name, make in pipelines.items():
            rate, delivered[name] = _run(url, make(), n)
            rates[name].append(rate)
    results = {name: (statistics.median(r), delivered[name]) for name, r in rates.items()}
    print(f"spans per run: {n} (+1 session span), median of {args.repeats}, receiver at {url}")
    for name, (rate, got) in results.items():
        print(f"  {name:12s} {rate:10,.0f} spans/s   delivered {got}")
    base = results["baseline"][0]
    for name in results:
        if name != "baseline":
            print(f"ratio {name}/baseline: {results[name][0] / base:.2f} (target >= 0.8)")
    server.terminate()


if __name__ == "__main__":
    main()
