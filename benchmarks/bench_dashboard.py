"""Dashboard timings: OTLP ingest rate, sessions-page and session-page server time.

    .venv/bin/python benchmarks/bench_dashboard.py [--sessions 10000] [--spans-per-session 10]
        [--big-session 2000]

Spans are generated with the SDK, sent as OTLP protobuf to the app in-process (Starlette's test
client, so HTTP framing is not measured), then pages are timed. The issue's targets: sessions page
and each next page under 50 ms of server time at 1M spans / 100K sessions
(``--sessions 100000 --spans-per-session 10``), a 2,000-span session page quickly.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from agentops_otel import _attributes as A
from agentops_otel.dashboard import create_app

MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5")


def _session_spans(tracer, sid: str, spans: int) -> None:
    with tracer.start_as_current_span("session", attributes={
            A.SESSION_ID: sid, A.SPAN_KIND: A.KIND_SESSION, A.SESSION_TAGS: ("bench",)}):
        with tracer.start_as_current_span("invoke_agent worker", attributes={
                A.SESSION_ID: sid, A.SPAN_KIND: A.KIND_AGENT, A.AGENT_NAME: "worker"}):
            for _ in range(max(spans - 2, 0)):
                with tracer.start_as_current_span("chat", attributes={
                        A.SESSION_ID: sid, A.SPAN_KIND: A.KIND_LLM, A.AGENT_NAME: "worker",
                        A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                        A.GEN_AI_REQUEST_MODEL: random.choice(MODELS),
                        A.GEN_AI_PROVIDER_NAME: "openai", A.GEN_AI_USAGE_INPUT_TOKENS: 500,
                        A.GEN_AI_USAGE_OUTPUT_TOKENS: 50}):
                    pass


def _ms(client: TestClient, url: str, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--spans-per-session", type=int, default=10)
    parser.add_argument("--big-session", type=int, default=2000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "bench"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    app = create_app(home)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        sent, ingest_s = 0, 0.0
        for chunk in range(0, args.sessions, 100):
            for i in range(chunk, min(chunk + 100, args.sessions)):
                _session_spans(tracer, f"s{i:07d}", args.spans_per_session)
            spans = memory.get_finished_spans()
            memory.clear()
            body = encode_spans(spans).SerializeToString()
            start = time.perf_counter()
            response = client.post("/v1/traces", content=body,
                                   headers={"Content-Type": "application/x-protobuf"})
            ingest_s += time.perf_counter() - start
            assert response.status_code == 200, response.text
            sent += len(spans)
        _session_spans(tracer, "big", args.big_session)
        client.post("/v1/traces", content=encode_spans(memory.get_finished_spans())
                    .SerializeToString(), headers={"Content-Type": "application/x-protobuf"})
        print(f"ingest: {sent:,} spans in {ingest_s:.1f} s = {sent / ingest_s:,.0f} spans/s")
        print(f"sessions page: {_ms(client, '/'):.1f} ms")
        page = client.get("/").text
        next_url = re.search(r'href="([^"]+)" class="next"', page)
        if next_url:
            url = next_url[1].replace("&amp;", "&")
            print(f"next sessions page: {_ms(client, url):.1f} ms")
        print(f"sessions page, tag filter: {_ms(client, '/?tag=bench'):.1f} ms")
        print(f"sessions page, model filter: {_ms(client, '/?model=gpt-4o'):.1f} ms")
        print(f"{args.big_session}-span session page: {_ms(client, '/sessions/big', 3):.1f} ms")
        print(f"overview 30d: {_ms(client, '/overview?range=30d', 3):.1f} ms")


if __name__ == "__main__":
    main()
