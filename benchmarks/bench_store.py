"""The local store: what it costs the app per span, how fast it writes, how big it gets.

    .venv/bin/python benchmarks/bench_store.py [--spans 20000] [--rounds 5] [--size-sessions 5000]

1. App-process CPU per stored span (target <= 20 us): ``--spans`` LLM spans with a prompt and
   a completion (about 200 characters each, like ``bench_dashboard.py``'s) through a
   ``TracerProvider`` with the local-store export processor that ``init()`` builds, then
   ``force_flush`` (everything committed), against the same spans through a provider with no
   processor. CPU time of this process (``time.process_time``: every thread of it, not the
   writer process), rounds interleaved, median and spread. Modes: the writer process (the
   default) and the store written on the export thread (``StoreSpanExporter``, as before). Each
   run checks that every span is in the file.
2. Writer throughput on one core: ``StoreWriter.write_records`` over batches of 512 ready
   records (what the writer process receives), CPU time of this process, spans/s, rounds
   interleaved: every span finished (content compressed, words indexed) in its transaction;
   the write path alone, as the writer process runs it (finishing left for when it is idle,
   up to ``_process.UNFINISHED`` spans); and that finishing afterwards, on its own (read back
   from the rows).
3. Our own LLM calls in one long session (issue 19 item 2: the writer's share of a call):
   ``--spans`` LLM spans as our GenAI helper leaves them (priced, content on or off) under one
   agent span in one session, the session span last, as ``StoreWriter.write_records`` receives
   them in the writer process (batches of ``--call-batch``), CPU microseconds per span, rounds
   interleaved: the write path alone, and finishing included (each batch compressed and
   indexed before the next, as the writer process does when the app sends nothing for a while:
   the writer's whole cost per span).
4. Size: ``--size-sessions`` sessions of 10 spans (``bench_dashboard.session_spans``: eight LLM
   calls with prompts) written into a fresh store, finished in each transaction, and as the
   writer process does (finished later, a batch's worth between batches); bytes per span by
   table (``dbstat``) and the file size extrapolated to 1M spans (target <= 1 GB).
"""

from __future__ import annotations

import argparse
import json
import marshal
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_dashboard import session_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import set_span_in_context

from agentops_otel import semconv as A
from agentops_otel.export import LOCAL_BATCH, LOCAL_STORE, BoundedExportProcessor
from agentops_otel.store import StoreSpanExporter, StoreWriter
from agentops_otel.store._process import FINISH_BELOW, UNFINISHED, ProcessStoreExporter
from agentops_otel.store._writer import record_of

BATCH = 512
WORDS = ("refund", "invoice", "shipping", "weather", "summary", "email", "budget", "report")


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def _attrs(rng: random.Random, i: int) -> dict[str, object]:
    prompt = " ".join(rng.choices(WORDS, k=25)) + f" ticket-{i}"
    return {
        A.SPAN_KIND: A.KIND_LLM,
        A.SESSION_ID: f"bench-{i // 100}",
        A.AGENT_NAME: "planner",
        A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
        A.GEN_AI_PROVIDER_NAME: "openai",
        A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        A.GEN_AI_USAGE_INPUT_TOKENS: 500,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: 50,
        A.GEN_AI_INPUT_MESSAGES: _messages("user", prompt),
        A.GEN_AI_OUTPUT_MESSAGES: _messages("assistant", "done " + prompt),
    }


def _app_cpu(make: Callable[[Path], object] | None, n: int) -> tuple[float, int]:
    """CPU seconds of this process for ``n`` spans through a provider with the store processor
    (``make`` builds its exporter; ``None``: no processor), and the spans found in the file."""
    rng = random.Random(3)
    attrs = [_attrs(rng, i) for i in range(n)]
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "traces.db"
        provider = TracerProvider(shutdown_on_exit=False)
        if make is not None:
            processor = BoundedExportProcessor(
                make(path),
                name=LOCAL_STORE,
                max_queue_size=n,
                max_batch_size=LOCAL_BATCH,
                local=True,
            )  # as init() sets it up, but with room for every span
            provider.add_span_processor(processor)
        tracer = provider.get_tracer("bench")
        began = time.process_time()
        for a in attrs:
            tracer.start_span("chat gpt-4o-mini", attributes=a).end()
        while not provider.force_flush(120_000):  # each wait is cut at the exit bound
            pass
        cpu = time.process_time() - began
        provider.shutdown()
        stored = 0
        if make is not None:
            with sqlite3.connect(path) as conn:
                (stored,) = conn.execute("SELECT COUNT(*) FROM spans").fetchone()
    return cpu, stored


def app_cost(n: int, rounds: int) -> None:
    modes: dict[str, Callable[[Path], object] | None] = {
        "none": None,
        "writer process (default)": ProcessStoreExporter,
        "export thread (before)": StoreSpanExporter,
    }
    cpu: dict[str, list[float]] = {m: [] for m in modes}
    _app_cpu(ProcessStoreExporter, 1000)  # warm up imports
    for _ in range(rounds):
        for mode, make in modes.items():
            took, stored = _app_cpu(make, n)
            if make is not None and stored != n:
                raise SystemExit(f"{mode}: {stored} of {n} spans stored")
            cpu[mode].append(took)
    base = statistics.median(cpu["none"])
    print(f"\n1. App-process CPU per stored span ({n:,} LLM spans with prompts, {rounds} rounds)")
    print("| store written by | CPU us/span, median | spread (min-max) | over no store, us/span |")
    print("|---|---:|---:|---:|")
    for mode, values in cpu.items():
        per = [v / n * 1e6 for v in values]
        extra = (statistics.median(values) - base) / n * 1e6
        print(
            f"| {mode} | {statistics.median(per):.1f} | {min(per):.1f}-{max(per):.1f} "
            f"| {'' if mode == 'none' else f'{extra:+.1f}'} |"
        )


def _session_records(sessions: int) -> list[list[object]]:
    rng = random.Random(7)
    now = time.time_ns() - 3_600 * 10**9
    spans = [
        record_of(s)
        for n in range(sessions)
        for s in session_spans(rng, n, f"s{n:07d}", 10, now + n * 10**9)
    ]
    return [spans[i : i + BATCH] for i in range(0, len(spans), BATCH)]


def _write(batches: list[list[object]], unfinished: int) -> tuple[float, float]:
    """CPU seconds to write ``batches`` (leaving up to ``unfinished`` spans unfinished), and to
    finish what was left."""
    with tempfile.TemporaryDirectory() as home:
        writer = StoreWriter(Path(home) / "traces.db", unfinished=unfinished)
        writer.write_records([])
        began = time.process_time()
        for batch in batches:
            writer.write_records(batch)
        wrote = time.process_time()
        while writer.finish_pending():
            pass
        finished = time.process_time()
        writer.close()
    return wrote - began, finished - wrote


def writer_rate(sessions: int, rounds: int) -> None:
    batches = _session_records(sessions)
    total = sum(len(b) for b in batches)
    rates: dict[str, list[float]] = {"finished in the transaction": [], "write path": []}
    rates["finishing afterwards"] = []
    for _ in range(rounds):
        inline, _ = _write(batches, 0)
        deferred, finishing = _write(batches, total)
        for mode, took in zip(rates, (inline, deferred, finishing), strict=True):
            rates[mode].append(total / took)
    print(f"\n2. Writer throughput, one core ({total:,} spans, batches of {BATCH}, {rounds} runs)")
    print("| | spans/s, median of CPU time | spread (min-max) |\n|---|---:|---:|")
    for mode, values in rates.items():
        print(
            f"| {mode} | {statistics.median(values):,.0f} | {min(values):,.0f}-{max(values):,.0f} |"
        )


def _call_records(calls: int, content: bool) -> list[object]:
    """``calls`` LLM spans in one session and agent as records, then the agent and session."""
    rng = random.Random(11)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("agentops_openai")
    ids = {A.SESSION_ID: "calls-session", A.SESSION_NAME: "bench"}
    session = tracer.start_span("session", attributes={A.SPAN_KIND: A.KIND_SESSION, **ids})
    within = set_span_in_context(session)
    agent = tracer.start_span(
        "planner", within, attributes={A.SPAN_KIND: A.KIND_AGENT, A.AGENT_NAME: "planner", **ids}
    )
    within = set_span_in_context(agent)
    for i in range(calls):
        attrs = {**_attrs(rng, i), **ids, A.COST_USD: 1.005e-05, A.COST_SOURCE: "bench"}
        if not content:
            del attrs[A.GEN_AI_INPUT_MESSAGES], attrs[A.GEN_AI_OUTPUT_MESSAGES]
        tracer.start_span("chat gpt-4o-mini", within, attributes=attrs).end()
    agent.end()
    session.set_attributes({A.LLM_CALLS: calls, A.TOTAL_COST_USD: 1.005e-05 * calls})
    session.end()
    provider.shutdown()
    return [record_of(span) for span in exporter.get_finished_spans()]


def _writer_cpu(batches: list[bytes], finishing: bool) -> float:
    """CPU seconds of this process to write marshalled ``batches`` as the writer process does
    (unmarshal, then write, finishing a small batch in its transaction and leaving the rest for
    idle time); with ``finishing``, what is left is finished before the next batch, as the
    writer process does while the app sends nothing."""
    with tempfile.TemporaryDirectory() as home:
        writer = StoreWriter(
            Path(home) / "traces.db", unfinished=UNFINISHED, finish_below=FINISH_BELOW
        )
        writer.write_records([])
        began = time.process_time()
        for payload in batches:
            writer.write_records(marshal.loads(payload))
            while finishing and writer.finish_pending():
                pass
        took = time.process_time() - began
        writer.close()
    return took


def call_cost(calls: int, batch: int, rounds: int) -> None:
    modes = [(content, finishing) for content in ("off", "on") for finishing in (False, True)]
    batches = {}
    for content in ("off", "on"):
        spans = _call_records(calls, content == "on")
        batches[content] = [
            marshal.dumps(spans[i : i + batch]) for i in range(0, len(spans), batch)
        ]
    total = calls + 2
    per: dict[tuple[str, bool], list[float]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for content, finishing in modes:
            took = _writer_cpu(batches[content], finishing)
            per[content, finishing].append(took / total * 1e6)
    print(f"\n3. Writer CPU per span, our LLM calls in one session ({calls:,} calls, batches of")
    print(f"   {batch}, {rounds} rounds)\n| content | writer | us/span, median | spread |")
    print("|---|---|---:|---:|")
    for (content, finishing), values in per.items():
        what = "finishing included" if finishing else "write path"
        print(
            f"| {content} | {what} | {statistics.median(values):.1f} "
            f"| {min(values):.1f}-{max(values):.1f} |"
        )


def size(sessions: int) -> None:
    batches = _session_records(sessions)
    print(f"\n4. Size ({sessions:,} sessions with prompts)")
    modes = (("finished in the transaction", 0), ("writer process, finished when idle", UNFINISHED))
    for mode, unfinished in modes:
        with tempfile.TemporaryDirectory() as home:
            path = Path(home) / "traces.db"
            writer = StoreWriter(path, unfinished=unfinished)
            total = 0
            for batch in batches:
                total += writer.write_records(batch)
                writer.finish_pending(BATCH)  # idle between batches, as the writer process
            while writer.finish_pending():
                pass
            writer.close()
            file_size = path.stat().st_size
            with sqlite3.connect(path) as conn:
                rows = conn.execute(
                    "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
                ).fetchall()
        print(
            f"   {mode}: {total:,} spans, file {file_size / 2**20:.1f} MiB = "
            f"{file_size / total:,.0f} bytes/span -> {file_size / total * 1e6 / 1e9:.2f} GB per 1M"
        )
        print("   " + ", ".join(f"{name} {sz / total:.0f}" for name, sz in rows if sz / total >= 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size-sessions", type=int, default=5_000)
    parser.add_argument("--call-batch", type=int, default=100)
    parser.add_argument("--only", choices=("app", "writer", "calls", "size"))
    args = parser.parse_args()
    if args.only in (None, "app"):
        app_cost(args.spans, args.rounds)
    if args.only in (None, "writer"):
        writer_rate(args.spans // 10, args.rounds)
    if args.only in (None, "calls"):
        call_cost(args.spans, args.call_batch, args.rounds)
    if args.only in (None, "size"):
        size(args.size_sessions)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
