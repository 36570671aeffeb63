"""Per-call overhead for Gemini (google-genai) and Bedrock Converse, ours against the peers.

    bash benchmarks/setup-provider-peers.sh     # once: .venvs/bench-{providers-ours,...}
    .venvs/bench-providers-ours/bin/python benchmarks/bench_providers.py [--calls 40 --rounds 6]

The driver serves the project's fake LLM server on 127.0.0.1 (in its own process, so its CPU is
not counted) and runs one worker process per (SDK, instrumentation, content mode), each in the
environment of its instrumentation: ours (agentops_otel.init), the official
opentelemetry-instrumentation-google-genai, OpenLLMetry's opentelemetry-instrumentation-bedrock.
A worker measures, interleaved in its own process, the uninstrumented call, the call inside a
bare OTel span (8 attributes) and the instrumented call, in CPU microseconds of the worker per
call, for a plain and a streamed call. Overhead = mode - uninstrumented; x bare = overhead over
the bare span's. Medians over the rounds (a warm-up round is discarded).

Toggling: class-level patches (ours, the official google-genai instrumentor) are switched off
and on by restoring the attributes they replaced (``_peer_worker._Patches``); OpenLLMetry wraps
each botocore client when it is created, so its instrumented calls use a client made after
instrumenting and the uninstrumented ones a client made before.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pathlib
import runpy
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
ENVS = {
    "ours": "bench-providers-ours",
    "official": "bench-gemini-official",
    "openllmetry": "bench-bedrock-openllmetry",
}
WORKERS = [
    ("gemini", "ours", "off"),
    ("gemini", "ours", "on"),
    ("gemini", "official", "off"),
    ("gemini", "official", "on"),
    ("bedrock", "ours", "off"),
    ("bedrock", "ours", "on"),
    ("bedrock", "openllmetry", "off"),
    ("bedrock", "openllmetry", "on"),
]
PROMPT = "Write one sentence about the sea, please, for a benchmark of tracing overhead."
GEMINI_MODEL = "gemini-2.0-flash"
BEDROCK_MODEL = "amazon.nova-lite-v1:0"


# -- worker ---------------------------------------------------------------------------------------
def _pipeline() -> tuple[Any, Any, Any]:
    """Global SDK tracer provider (to a dropping exporter) and meter provider."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Drop(SpanExporter):
        def __init__(self) -> None:
            self.count = 0

        def export(self, spans: Any) -> SpanExportResult:
            self.count += len(spans)
            return SpanExportResult.SUCCESS

    exporter = Drop()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider, exporter


def _scenarios(sdk: str, url: str) -> tuple[Callable[[], Any], dict[str, Callable[[Any], None]]]:
    """A client factory and the plain / streamed call for the SDK."""
    if sdk == "gemini":
        from google import genai

        def gemini_client() -> Any:
            return genai.Client(api_key="bench", http_options={"base_url": url})

        def gemini_plain(c: Any) -> None:
            c.models.generate_content(model=GEMINI_MODEL, contents=PROMPT)

        def gemini_stream(c: Any) -> None:
            for _ in c.models.generate_content_stream(model=GEMINI_MODEL, contents=PROMPT):
                pass

        return gemini_client, {"plain": gemini_plain, "stream": gemini_stream}
    import boto3

    messages = [{"role": "user", "content": [{"text": PROMPT}]}]

    def bedrock_client() -> Any:
        return boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    def converse(c: Any) -> None:
        c.converse(modelId=BEDROCK_MODEL, messages=messages)

    def converse_stream(c: Any) -> None:
        for _ in c.converse_stream(modelId=BEDROCK_MODEL, messages=messages)["stream"]:
            pass

    return bedrock_client, {"plain": converse, "stream": converse_stream}


def _instrument(sdk: str, peer: str, content: bool, tp: Any, mp: Any) -> str:
    if peer == "ours":
        import agentops_otel

        name = "google_genai" if sdk == "gemini" else "bedrock"
        agentops_otel.init(instrument=[name], capture_content=content, local_store=False)
        return f"agentops_otel.init(instrument=[{name!r}], capture_content={content})"
    if peer == "official":
        os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = (
            "SPAN_ONLY" if content else "NO_CONTENT"
        )
        from opentelemetry.instrumentation.google_genai import GoogleGenAiSdkInstrumentor

        GoogleGenAiSdkInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
        mode = "SPAN_ONLY" if content else "NO_CONTENT"
        return f"GoogleGenAiSdkInstrumentor().instrument(), content {mode}"
    os.environ["TRACELOOP_TRACE_CONTENT"] = "true" if content else "false"
    from opentelemetry.instrumentation.bedrock import BedrockInstrumentor

    BedrockInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
    return f"OpenLLMetry BedrockInstrumentor().instrument(), TRACELOOP_TRACE_CONTENT={content}"


def _bare(tracer: Any, sdk: str, call: Callable[[Any], None]) -> Callable[[Any], None]:
    """The call inside one CLIENT span with 8 attributes at start and 2 at the end."""
    from opentelemetry.trace import SpanKind

    model = GEMINI_MODEL if sdk == "gemini" else BEDROCK_MODEL
    # The attribute names, from semconv.py loaded by path (peer environments lack our package).
    a = runpy.run_path(str(ROOT / "agentops_otel" / "semconv.py"))
    start = {
        a["GEN_AI_OPERATION_NAME"]: "chat",
        a["GEN_AI_PROVIDER_NAME"]: sdk,
        a["GEN_AI_REQUEST_MODEL"]: model,
        a["SERVER_ADDRESS"]: "127.0.0.1",
        a["SERVER_PORT"]: 80,
        a["GEN_AI_REQUEST_TEMPERATURE"]: 0.2,
        a["GEN_AI_REQUEST_MAX_TOKENS"]: 64,
        a["GEN_AI_REQUEST_STREAM"]: False,
    }
    end = {a["GEN_AI_USAGE_INPUT_TOKENS"]: 24, a["GEN_AI_USAGE_OUTPUT_TOKENS"]: 20}

    def run(c: Any) -> None:
        with tracer.start_as_current_span(
            f"chat {model}", kind=SpanKind.CLIENT, attributes=start
        ) as span:
            call(c)
            span.set_attributes(end)

    return run


def _cpu_us(run: Callable[[Any], None], client: Any, calls: int) -> float:
    gc.collect()
    start = time.process_time()
    for _ in range(calls):
        run(client)
    return (time.process_time() - start) / calls * 1e6


def worker(sdk: str, peer: str, content: str, url: str, calls: int, rounds: int) -> None:
    sys.path.insert(0, str(HERE))
    import _peer_worker

    _peer_worker.PATCHED_PREFIXES = ("google.genai", "botocore", "boto3")
    tp, mp, exporter = _pipeline()
    make_client, scenarios = _scenarios(sdk, url)
    before_client = make_client()
    for call in scenarios.values():
        call(before_client)  # lazy imports happen before the snapshot
    before = _peer_worker._snapshot()
    how = _instrument(sdk, peer, content == "on", tp, mp)
    patches = _peer_worker._Patches(before, _peer_worker._snapshot())
    after_client = make_client()
    tracer = tp.get_tracer("bench")
    result: dict[str, Any] = {"how": how, "patched": patches.names}
    for scenario, call in scenarios.items():
        modes = {
            "uninstrumented": (call, before_client, False),
            "bare": (_bare(tracer, sdk, call), before_client, False),
            "peer": (call, after_client, True),
        }
        samples: dict[str, list[float]] = {mode: [] for mode in modes}
        spans = 0.0
        for round_ in range(rounds + 1):
            for mode, (run, client, on) in modes.items():
                patches.set(on)
                exporter.count = 0
                us = _cpu_us(run, client, calls)
                if mode == "peer":
                    spans = exporter.count / calls
                patches.set(False)
                if round_:
                    samples[mode].append(us)
        base = samples["uninstrumented"]
        over = [p - b for p, b in zip(samples["peer"], base, strict=True)]
        bare = [p - b for p, b in zip(samples["bare"], base, strict=True)]
        result[scenario] = {
            "uninstrumented_us": statistics.median(base),
            "bare_overhead_us": statistics.median(bare),
            "overhead_us": statistics.median(over),
            "x_bare": statistics.median(o / b for o, b in zip(over, bare, strict=True)),
            "spans_per_call": spans,
        }
    print("@@BENCH " + json.dumps(result), flush=True)


# -- driver ---------------------------------------------------------------------------------------
def _run_worker(sdk: str, peer: str, content: str, url: str, args: Any) -> dict[str, Any] | None:
    python = ROOT / ".venvs" / ENVS[peer] / "bin" / "python"
    cmd = [
        str(python),
        str(pathlib.Path(__file__).resolve()),
        "--worker",
        sdk,
        peer,
        content,
        url,
        "--calls",
        str(args.calls),
        "--rounds",
        str(args.rounds),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("@@BENCH "):
            return json.loads(line[8:])
    print(f"{sdk}/{peer}/{content} failed: {done.stderr[-2000:]}", file=sys.stderr)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40, help="calls per timed batch")
    parser.add_argument("--rounds", type=int, default=6, help="measured rounds per worker")
    parser.add_argument("--only", choices=["gemini", "bedrock"], help="one SDK's workers")
    parser.add_argument("--worker", nargs=4, metavar=("SDK", "PEER", "CONTENT", "URL"))
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, calls=args.calls, rounds=args.rounds)
        return
    sys.path.insert(0, str(ROOT))
    from agentops_otel.testing.fake_llm import FakeLLMServer

    results: dict[str, Any] = {}
    with FakeLLMServer(log_requests=False) as server:
        for sdk, peer, content in WORKERS:
            if args.only and sdk != args.only:
                continue
            result = _run_worker(sdk, peer, content, server.url, args)
            if result is not None:
                results[f"{sdk}/{peer}/{content}"] = result
            print(f"{sdk}/{peer}/{content} done", file=sys.stderr, flush=True)
    lines = [f"{args.calls} calls x {args.rounds} rounds per mode, CPU us per call (medians)"]
    for key, r in results.items():
        lines.append(f"  {key}: {r['how']}")
    for scenario in ("plain", "stream"):
        lines += [
            "",
            f"{scenario}:",
            "| sdk | instrumentation | content | uninstrumented | "
            "bare span | instrumented | x bare span | spans/call |",
            "|---|---|---|---:|---:|---:|---:|---:|",
        ]
        for key, r in results.items():
            s = r[scenario]
            sdk, peer, content = key.split("/")
            lines.append(
                f"| {sdk} | {peer} | {content} | {s['uninstrumented_us']:.0f} | "
                f"+{s['bare_overhead_us']:.0f} | +{s['overhead_us']:.0f} | "
                f"{s['x_bare']:.2f} | {s['spans_per_call']:.0f} |"
            )
    text = "\n".join(lines)
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "providers.txt").write_text(text + "\n")
    (HERE / "results" / "providers.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
