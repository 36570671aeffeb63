"""OTLP/protobuf ingest through a real ``agentops-otel serve`` (issue 19 item 5), and where the
server's time goes.

    .venv/bin/python benchmarks/bench_ingest.py [--spans 20480] [--rounds 3] [--gzip]
        [--baseline DIR]

Each workload is a list of sessions (root, agent, five LLM calls with prompts and completions, a
tool) in one span convention: ours (``agentops.span.kind``: passes the normalizer untouched),
OpenInference, the Vercel AI SDK (``ai.*``) and OpenLLMetry, encoded by the SDK's own OTLP encoder
in batches of 512 (the ``BatchSpanProcessor`` default).

serve: ``agentops-otel serve`` in its own process with a fresh store; one sender posts the
batches one after the other over one keep-alive connection (as the SDK's exporter does), after
one warm-up batch. Reported: spans/s (wall, the sender's view) and the server process's CPU per
span (its process CPU clock, so its worker threads count). ``--baseline DIR`` runs a
second server from another source tree (``git archive main | tar -x -C DIR``) in the same rounds,
interleaved. Median of ``--rounds``, with the spread.

stages: the same batches through the server's steps in this process, CPU time per span
(``time.process_time``, best of the rounds): decompress (only with ``--gzip``), the protobuf parse,
the OTLP to store-record conversion (attribute values included), ``normalize()`` and the
writer's ``write_records`` (which calls ``normalize()``; "writer alone" is it minus normalize).
With ``--baseline`` the stages of that tree are measured too (in a child process).
"""

from __future__ import annotations

import argparse
import ctypes
import gzip
import http.client
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

from agentops_otel import semconv as A

BATCH = 512  # spans per request (the BatchSpanProcessor's default export size)
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


def spans_of(
    make: Callable[[int], dict[str, dict[str, Any]]], total: int, first: int = 0
) -> list[ReadableSpan]:
    """Sessions of 8 spans (root, agent, 5 LLM calls, a tool) until ``total`` spans; session
    numbers (and trace ids) from ``first``."""
    out: list[ReadableSpan] = []
    i = first
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


def bodies_of(spans: list[ReadableSpan], compress: bool) -> list[bytes]:
    """``spans`` as OTLP/protobuf export requests of :data:`BATCH` spans."""
    out = [
        encode_spans(spans[i : i + BATCH]).SerializeToString() for i in range(0, len(spans), BATCH)
    ]
    return [gzip.compress(b) for b in out] if compress else out


def workload_bodies(label: str, total: int, compress: bool) -> tuple[list[bytes], list[bytes]]:
    """The warm-up batch and the measured batches of a workload (distinct trace ids)."""
    make = WORKLOADS[label]
    warm = bodies_of(spans_of(make, BATCH, first=10**6), compress)
    return warm, bodies_of(spans_of(make, total), compress)


# --- serve -----------------------------------------------------------------------------------
def _cpu_clock(pid: int) -> int:
    """The CPU-time clock of another process (all its threads, ns resolution; Linux)."""
    clock = ctypes.c_int()
    if ctypes.CDLL(None).clock_getcpuclockid(pid, ctypes.byref(clock)) != 0:
        raise OSError(f"no CPU clock for process {pid}")
    return clock.value


# ``serve`` with ``StoreWriter.write_records`` replaced by a no-op: the ingest path alone (HTTP,
# decompress, decode, the hand-off), everything but the writer's own work
_NO_WRITER = (
    "import sys; from agentops_otel.store import _writer; from agentops_otel.cli import main; "
    "_writer.StoreWriter.write_records = lambda self, records: len(records); "
    "sys.exit(main(sys.argv[1:]))"
)


def serve_run(
    bodies: tuple[list[bytes], list[bytes]],
    spans: int,
    source: str | None,
    gz: bool,
    writer: bool = True,
) -> tuple[float, float]:
    """One fresh ``serve`` (from ``source`` when given; without the writer's work unless
    ``writer``) given the warm-up and measured bodies: spans/s wall and server CPU us/span."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTOPS_"))}
    if source:
        env["PYTHONPATH"] = source
    headers = {"Content-Type": "application/x-protobuf"}
    if gz:
        headers["Content-Encoding"] = "gzip"
    warm, measured = bodies
    with tempfile.TemporaryDirectory() as home:
        args = [sys.executable, *(["-m", "agentops_otel.cli"] if writer else ["-c", _NO_WRITER])]
        server = subprocess.Popen(
            [*args, "serve", "--port", "0", "--store", home],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=home,  # not this checkout: ``-m`` / ``-c`` put the working directory first
        )
        try:
            line = server.stdout.readline() if server.stdout else ""
            host, port = line.split("http://", 1)[1].split()[0].rsplit(":", 1)
            connection = http.client.HTTPConnection(host, int(port), timeout=120)

            def post(body: bytes) -> None:
                connection.request("POST", "/v1/traces", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                assert response.status == 200, response.status

            for body in warm:
                post(body)
            clock = _cpu_clock(server.pid)
            cpu, began = time.clock_gettime(clock), time.perf_counter()
            for body in measured:
                post(body)
            wall, cpu = time.perf_counter() - began, time.clock_gettime(clock) - cpu
            connection.close()
        finally:
            server.terminate()
            server.wait(30)
    return spans / wall, cpu / spans * 1e6


# --- stages ----------------------------------------------------------------------------------
def _records_decoder() -> Callable[[bytes], list[Any]]:
    """This tree's body -> store records (a tree from before ``decode_protobuf_records``:
    SDK spans, then ``record_of``, as its ``serve`` did)."""
    from agentops_otel import _otlp_codec as codec

    decode = getattr(codec, "decode_protobuf_records", None)
    if decode is not None:
        return decode
    from agentops_otel.store._writer import record_of

    return lambda body: [record_of(s) for s in codec.decode_protobuf(body)]


def stages(label: str, total: int, rounds: int, gz: bool) -> dict[str, float]:
    """CPU us/span of each step of the ingest, best of ``rounds``; batch by batch, as the
    server does (holding every batch's records at once would make the collector's passes
    part of the measure)."""
    from agentops_otel import _otlp_codec as codec
    from agentops_otel.store._normalize import normalize
    from agentops_otel.store._writer import StoreWriter

    decode = _records_decoder()
    _, bodies = workload_bodies(label, total, gz)
    steps = ("decompress", "parse", "convert", "normalize", "write_records")
    best = dict.fromkeys(steps, math.inf)
    for _ in range(rounds):
        spent = dict.fromkeys(steps, 0.0)
        with tempfile.TemporaryDirectory() as home:
            writer = StoreWriter(Path(home) / "traces.db")
            writer.write_records([])
            for body in bodies:
                clock = [time.process_time()]
                raw = codec.decompress(body, "gzip" if gz else None)
                clock.append(time.process_time())
                ExportTraceServiceRequest().ParseFromString(raw)
                clock.append(time.process_time())
                records = decode(raw)  # parses again: "convert" is this minus "parse"
                clock.append(time.process_time())
                for record in records:
                    normalize(record[9], record[3])
                clock.append(time.process_time())
                writer.write_records(records)
                clock.append(time.process_time())
                took = [b - a for a, b in itertools.pairwise(clock)]
                took[2] -= took[1]
                for step, seconds in zip(steps, took, strict=True):
                    spent[step] += seconds
            writer.close()
        for step in steps:
            best[step] = min(best[step], spent[step] / total * 1e6)
    return best


def _stages_from(
    source: str | None, label: str, total: int, rounds: int, gz: bool
) -> dict[str, float]:
    if not source:
        return stages(label, total, rounds, gz)
    args = [sys.executable, __file__, "--stages-json", label, "--spans", str(total)]
    args += ["--rounds", str(rounds), *(["--gzip"] if gz else [])]
    out = subprocess.run(
        args, env={**os.environ, "PYTHONPATH": source}, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _spread(values: list[float], fmt: str) -> str:
    low, mid, high = (format(v, fmt) for v in (min(values), statistics.median(values), max(values)))
    return f"{mid} ({low}–{high})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=20_480)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gzip", action="store_true", help="send the bodies gzip-compressed")
    parser.add_argument("--baseline", metavar="DIR", help="also run the tree in DIR (before)")
    parser.add_argument("--only", nargs="*", choices=list(WORKLOADS), help="these workloads")
    parser.add_argument("--stages-json", metavar="WORKLOAD", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stages_json:
        print(json.dumps(stages(args.stages_json, args.spans, args.rounds, args.gzip)))
        return
    labels = args.only or list(WORKLOADS)
    trees = {"this tree": None, **({"baseline": args.baseline} if args.baseline else {})}
    print(
        f"load average (1/5/15 min) at start: {_load()}; {args.spans:,} spans per run, "
        f"batches of {BATCH}, {'gzip' if args.gzip else 'uncompressed'}",
        flush=True,
    )
    bodies = {label: workload_bodies(label, args.spans, args.gzip) for label in labels}
    modes = {"serve": True, "serve, writer stubbed": False}
    runs = [(label, tree, mode) for label in labels for tree in trees for mode in modes]
    rates: dict[tuple[str, str, str], list[float]] = {}
    cpus: dict[tuple[str, str, str], list[float]] = {}
    for round_ in range(args.rounds):
        for label, tree, mode in runs:
            rate, cpu = serve_run(bodies[label], args.spans, trees[tree], args.gzip, modes[mode])
            rates.setdefault((label, tree, mode), []).append(rate)
            cpus.setdefault((label, tree, mode), []).append(cpu)
        print(f"round {round_ + 1} done, load {_load()}", file=sys.stderr, flush=True)
    print(
        "\n| workload | tree | run | spans/s, wall: median (min–max) | server CPU us/span | "
        "server CPU-bound spans/s |"
    )
    print("|---|---|---|---:|---:|---:|")
    for key in runs:
        print(
            f"| {' | '.join(key)} | {_spread(rates[key], ',.0f')} | {_spread(cpus[key], '.1f')} "
            f"| {1e6 / statistics.median(cpus[key]):,.0f} |"
        )
    print(f"\nstages, CPU us/span (best of {args.rounds}); load {_load()}")
    print(
        "\n| workload | tree | decompress | parse | convert | normalize | writer alone | "
        "write_records (incl. normalize) | sum |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label in labels:
        for tree, source in trees.items():
            t = _stages_from(source, label, args.spans, args.rounds, args.gzip)
            total = t["decompress"] + t["parse"] + t["convert"] + t["write_records"]
            print(
                f"| {label} | {tree} | {t['decompress']:.1f} | {t['parse']:.1f} | "
                f"{t['convert']:.1f} | {t['normalize']:.1f} | "
                f"{t['write_records'] - t['normalize']:.1f} | {t['write_records']:.1f} | "
                f"{total:.1f} |",
                flush=True,
            )
    print(f"\nload average at the end: {_load()}")


if __name__ == "__main__":
    main()
