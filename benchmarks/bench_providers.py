"""Per-call overhead for Gemini (google-genai) and Bedrock Converse, ours against the peers.

    bash benchmarks/setup-provider-peers.sh     # once: .venvs/bench-{providers-ours,...}
    .venvs/bench-providers-ours/bin/python benchmarks/bench_providers.py [--calls 40 --rounds 8]

The driver serves the project's fake LLM server on 127.0.0.1 (in its own process, so its CPU is
not counted) and starts one long-lived worker per (SDK, instrumentation, content mode), each in
the environment of its instrumentation: ours (agentops_otel.init), the official
opentelemetry-instrumentation-google-genai, OpenLLMetry's opentelemetry-instrumentation-bedrock.
Every round the driver asks each worker, in a new random order (``bench_peers.interleave``), for
one round of its modes, so that drift on a shared machine hits every worker alike; round 0 is a
discarded warm-up. A worker measures, interleaved in its own process
(``_peer_worker.serve``), the uninstrumented call, the call inside a bare OTel span (8
attributes, on a provider of its own) and the instrumented call, in CPU microseconds of the
worker per call (ours' deferred metrics recorded inside the timing, as in bench_peers), for a
plain and a streamed call. Overhead = mode - uninstrumented; x bare = overhead over the bare
span's in the same round. Reported: medians over the rounds, the spread (min-max) of the
overhead and of the uninstrumented call.

Toggling: class-level patches (ours, the official google-genai instrumentor) are switched off
and on by restoring the attributes they replaced (``_peer_worker._Patches``); OpenLLMetry wraps
each botocore client when it is created, so its instrumented calls use a client made after
instrumenting and the uninstrumented ones a client made before.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import runpy
import sys
from collections.abc import Callable
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import _peer_worker  # noqa: E402  (benchmarks/ is no package; both need only the stdlib)
import bench_peers  # noqa: E402

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
PEER = {"gemini": "official", "bedrock": "openllmetry"}  # the peer each SDK's target names
CALLS = {
    ("gemini", "plain"): "Gemini generate_content",
    ("gemini", "stream"): "Gemini generate_content_stream",
    ("bedrock", "plain"): "Bedrock converse",
    ("bedrock", "stream"): "Bedrock converse_stream",
}
LABELS = {
    "ours": "ours",
    "official": "official google-genai",
    "openllmetry": "OpenLLMetry bedrock",
}
PROMPT = "Write one sentence about the sea, please, for a benchmark of tracing overhead."
GEMINI_MODEL = "gemini-2.0-flash"
BEDROCK_MODEL = "amazon.nova-lite-v1:0"


# -- worker ---------------------------------------------------------------------------------------
def _dropping_provider() -> tuple[Any, Any]:
    """An SDK tracer provider exporting to an exporter that counts and drops."""
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
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _pipeline() -> tuple[Any, Any, Any]:
    """Global SDK tracer provider (to a dropping exporter) and meter provider."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    tracer_provider, exporter = _dropping_provider()
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
        _peer_worker._SETTLE.append(agentops_otel.flush)  # its deferred metrics, timed
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


def _bare(sdk: str, call: Callable[[Any], None]) -> Callable[[Any], None]:
    """The call inside one CLIENT span with 8 attributes at start and 2 at the end, on a
    provider of its own (an instrumentation that joined the app's provider is not paid for)."""
    from opentelemetry.trace import SpanKind

    tracer = _dropping_provider()[0].get_tracer("bench")
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


def worker(sdk: str, peer: str, content: str, url: str) -> None:
    """Instrument, then serve ``run`` requests on stdin (``_peer_worker.serve``)."""
    from importlib.metadata import version

    _peer_worker.PATCHED_PREFIXES = ("google.genai", "botocore", "boto3")
    tp, mp, exporter = _pipeline()
    make_client, calls = _scenarios(sdk, url)
    before_client = make_client()
    for call in calls.values():
        call(before_client)  # lazy imports happen before the snapshot
    before = _peer_worker._snapshot()
    how = _instrument(sdk, peer, content == "on", tp, mp)
    patches = _peer_worker._Patches(before, _peer_worker._snapshot())
    after_client = make_client()
    scenarios = {
        scenario: {
            "uninstrumented": (call, before_client, False),
            "bare": (_bare(sdk, call), before_client, False),
            "peer": (call, after_client, True),
        }
        for scenario, call in calls.items()
    }
    package = "google-genai" if sdk == "gemini" else "boto3"
    info = {
        "how": how,
        "patched": patches.names,
        "sdk": f"{package} {version(package)}",
        "python": sys.version.split()[0],
    }
    _peer_worker.serve(info, scenarios, patches, exporter)


# -- driver ---------------------------------------------------------------------------------------
class ProviderWorker(bench_peers.Worker):
    """One (SDK, instrumentation, content) worker in its environment."""

    def __init__(self, sdk: str, peer: str, content: str, url: str) -> None:
        self.sdk, self.key = sdk, (sdk, peer, content)
        python = ROOT / ".venvs" / ENVS[peer] / "bin" / "python"
        command = [str(python), str(pathlib.Path(__file__).resolve()), "--worker", sdk, peer]
        self.start(peer, content, [*command, content, url], f"providers-{sdk}-{peer}-{content}")


def _markdown(res: dict[tuple[str, str, str], dict[str, Any]]) -> str:
    lines = [
        "| call | instrumentation | content | " + bench_peers.HEADER,
        "|---|---|---|" + "---:|" * bench_peers.HEADER.count("|"),
    ]
    for (sdk, scenario), call in CALLS.items():
        for (sdk_, peer, content), r in res.items():
            if sdk_ != sdk:
                continue
            row = [call, LABELS[peer], content, *bench_peers.cells(r[scenario])]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _targets(res: dict[tuple[str, str, str], dict[str, Any]]) -> list[str]:
    """Issue 14: ours below the SDK's peer at the same content setting (median CPU overhead;
    whether the spreads overlap is said too), and with content off at most 1.5x (plain) / 2x
    (streamed) the bare span's overhead."""
    lines = []
    for (sdk, scenario), call in CALLS.items():
        ours = res.get((sdk, "ours", "off"))
        if ours:
            x, limit = ours[scenario]["x_bare"], 1.5 if scenario == "plain" else 2.0
            verdict = bench_peers._verdict(x <= limit)
            lines.append(
                f"{call}: ours content off {x:.2f}x the bare span (<= {limit}x): {verdict}"
            )
        for content in ("off", "on"):
            mine, theirs = res.get((sdk, "ours", content)), res.get((sdk, PEER[sdk], content))
            if not (mine and theirs):
                continue
            a, b = mine[scenario], theirs[scenario]
            below = "below" if a["overhead_us"] < b["overhead_us"] else "NOT below"
            (a_lo, a_hi), (b_lo, b_hi) = a["overhead_spread_us"], b["overhead_spread_us"]
            apart = a_hi < b_lo or b_hi < a_lo
            lines.append(
                f"{call}, content {content}: ours {a['overhead_us']:.0f} us vs "
                f"{LABELS[PEER[sdk]]} {b['overhead_us']:.0f} us: {below}"
                f"{' (spreads apart)' if apart else ' (spreads overlap)'}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40, help="calls per timed batch")
    parser.add_argument("--inner", type=int, default=1, help="interleaved batches per request")
    parser.add_argument("--rounds", type=int, default=8, help="measured rounds per worker")
    parser.add_argument("--only", choices=["gemini", "bedrock"], help="one SDK's workers")
    parser.add_argument("--worker", nargs=4, metavar=("SDK", "PEER", "CONTENT", "URL"))
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    sys.path.insert(0, str(ROOT))
    from agentops_otel.testing import fake_llm

    # headers and body leave in two writes: without TCP_NODELAY each keep-alive request
    # stalls 40 ms on the delayed ACK (idle time, not CPU; the tests keep the server as is)
    fake_llm._Handler.disable_nagle_algorithm = True

    (HERE / "results").mkdir(exist_ok=True)
    with fake_llm.FakeLLMServer(log_requests=False) as server:
        workers = []
        for sdk, peer, content in WORKERS:
            if args.only and sdk != args.only:
                continue
            try:
                workers.append(ProviderWorker(sdk, peer, content, server.url))
            except Exception as exc:
                print(f"{sdk}/{peer}/{content}: could not start: {exc}", file=sys.stderr)
        samples = bench_peers.interleave(workers, args.rounds, args.calls, args.inner)
    res = {w.key: bench_peers._summary(samples[w]) for w in workers}
    lines = [
        f"{args.calls} calls x {args.inner} interleaved batch(es) per round, {args.rounds} "
        f"rounds (+1 warm-up), workers in a new random order each round; CPU us per call, "
        f"medians; machine: {platform.machine()}, python {workers[0].info['python']}",
    ]
    lines += [f"  {'/'.join(w.key)}: {w.info['how']} ({w.info['sdk']})" for w in workers]
    for w in workers:  # the uninstrumented call must trace nothing (the toggling works)
        stray = max(r[s]["uninstrumented"]["spans_per_call"] for r in samples[w] for s in r)
        if stray:
            lines.append(f"  WARNING {'/'.join(w.key)}: {stray} spans per uninstrumented call")
    lines += ["", _markdown(res), "", "Targets"]
    lines += ["  " + line for line in _targets(res)]
    text = "\n".join(lines)
    print(text)
    name = "providers-interleaved" + (f"-{args.only}" if args.only else "")
    (HERE / "results" / f"{name}.txt").write_text(text + "\n")
    out = {"/".join(w.key): {**res[w.key], "info": w.info} for w in workers}
    (HERE / "results" / f"{name}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
