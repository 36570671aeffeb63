"""AgentOpsSpanProcessor cost per span (issue 4) and the first model call's latency.

    .venv/bin/python benchmarks/bench_processor.py [--rounds 15]

1. Processor time per plain span (an operation inside a session) and per LLM span (usage and
   cost attributes set, as the GenAI helper sets them), and one warm ``pricing.cost_for``
   lookup: the same spans through two TracerProviders, with and without our processor, CPU
   time, interleaved rounds, medians. Its share of the per-call overhead uses ours/off from
   results/peers.json (bench_peers.py) when present.
2. First-call latency in fresh interpreters (wall time of the first chat completion over the
   mock transport right after ``init()``), against the same first call uninstrumented, against
   one made after the price table has surely loaded, and against the table's load time itself.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from _mock_openai import DropExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentops_otel import pricing
from agentops_otel import semconv as A
from agentops_otel.processor import AgentOpsSpanProcessor

HERE = pathlib.Path(__file__).resolve().parent
N = 20_000

LLM_END = {
    A.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
    A.GEN_AI_USAGE_INPUT_TOKENS: 24,
    A.GEN_AI_USAGE_OUTPUT_TOKENS: 20,
    A.COST_USD: 1.56e-05,
    A.COST_INPUT_USD: 3.6e-06,
    A.COST_OUTPUT_USD: 1.2e-05,
    A.COST_SOURCE: "bundled",
}


def _provider(ours: bool) -> TracerProvider:
    provider = TracerProvider()
    if ours:
        provider.add_span_processor(AgentOpsSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(DropExporter()))
    return provider


def _spans(provider: TracerProvider) -> dict[str, Callable[[], None]]:
    tracer = provider.get_tracer("bench")
    session = tracer.start_span(
        "session bench",
        attributes={A.SPAN_KIND: A.KIND_SESSION, A.SESSION_ID: "s-1", A.SESSION_NAME: "bench"},
    )
    from opentelemetry import trace

    ctx = trace.set_span_in_context(session)

    def plain() -> None:
        tracer.start_span(
            "operation step",
            context=ctx,
            attributes={A.SPAN_KIND: A.KIND_OPERATION, A.OPERATION_NAME: "step"},
        ).end()

    def llm() -> None:
        span = tracer.start_span(
            "chat gpt-4o-mini",
            context=ctx,
            attributes={
                A.SPAN_KIND: A.KIND_LLM,
                A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                A.GEN_AI_PROVIDER_NAME: "openai",
                A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            },
        )
        span.set_attributes(LLM_END)
        span.end()

    return {"plain": plain, "llm": llm}


def _cpu_us(fn: Callable[[], object]) -> float:
    start = time.process_time()
    for _ in range(N):
        fn()
    return (time.process_time() - start) / N * 1e6


def processor_cost(rounds: int) -> dict[str, float]:
    without, with_ = _spans(_provider(False)), _spans(_provider(True))
    pricing.preload()

    def price() -> object:
        return pricing.cost_for(
            "openai",
            "gpt-4o-mini",
            input_tokens=24,
            output_tokens=20,
            response_model="gpt-4o-mini-2024-07-18",
        )

    price()  # warm: table loaded, lookup memoised
    modes = {
        "plain without": without["plain"],
        "plain with": with_["plain"],
        "llm without": without["llm"],
        "llm with": with_["llm"],
        "cost_for": price,
    }
    samples: dict[str, list[float]] = {k: [] for k in modes}
    for round_ in range(rounds + 1):
        for name, fn in modes.items():
            value = _cpu_us(fn)
            if round_:
                samples[name].append(value)
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "processor per plain span": med["plain with"] - med["plain without"],
        "processor per LLM span": med["llm with"] - med["llm without"],
        "cost_for, warm": med["cost_for"],
        "span without processor (plain)": med["plain without"],
        "span without processor (llm)": med["llm without"],
    }


_FIRST_CALL = r"""
import sys, threading, time
sys.path.insert(0, {bench!r})
import _mock_openai as m
loaders = []
if {instrumented}:
    import agentops_otel
    from agentops_otel.pricing import _table
    _load = _table.load_table
    def spy():  # which thread loads the price table?
        loaders.append(threading.current_thread().name)
        return _load()
    _table.load_table = spy
    agentops_otel.init(local_store=False)
c = m.client()
time.sleep({delay})
t = time.perf_counter()
m.plain(c)
first = (time.perf_counter() - t) * 1000
t = time.perf_counter()
m.plain(c)
second = (time.perf_counter() - t) * 1000
print(",".join(loaders) or "-", first, second)
"""

_LOAD = (
    "import time; from agentops_otel.pricing import _table; t=time.perf_counter(); "
    "_table.load_table(); print((time.perf_counter()-t)*1000)"
)


def first_call(runs: int) -> tuple[dict[str, float], list[str]]:
    env = {**os.environ, "AGENTOPS_OTEL_HOME": tempfile.mkdtemp(prefix="agentops-bench-")}
    cases = {
        "uninstrumented": (False, 0.0),
        "instrumented, right after init()": (True, 0.0),
        "instrumented, 1 s after init() (table surely loaded)": (True, 1.0),
    }
    samples: dict[str, list[float]] = {}
    loaders: set[str] = set()
    for _ in range(runs):
        for name, (instrumented, delay) in cases.items():
            code = _FIRST_CALL.format(bench=str(HERE), instrumented=instrumented, delay=delay)
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
            ).stdout.split()
            samples.setdefault(f"{name}: first call ms", []).append(float(out[-2]))
            if instrumented:
                loaders.add(out[-3])
            samples.setdefault(f"{name}: second call ms", []).append(float(out[-1]))
        out = subprocess.run(
            [sys.executable, "-c", _LOAD], capture_output=True, text=True, env=env, check=True
        ).stdout.split()
        samples.setdefault("price table load (cold interpreter) ms", []).append(float(out[-1]))
    return {k: statistics.median(v) for k, v in samples.items()}, sorted(loaders)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--first-call-runs", type=int, default=7)
    args = parser.parse_args()
    cost = processor_cost(args.rounds)
    print(f"Processor (CPU us, medians of {args.rounds} interleaved rounds x {N} spans)")
    for name, value in cost.items():
        print(f"  {name:34} {value:8.2f}")
    peers = HERE / "results" / "peers.json"
    if peers.exists():
        ours = json.loads(peers.read_text())["results"].get("ours/off")
        if ours:
            per_call = ours["plain"]["overhead_us"]
            share = (cost["processor per LLM span"] + cost["cost_for, warm"]) / per_call
            print(
                f"  share of ours' per-call overhead ({per_call:.0f} us, bench_peers, content "
                f"off): processor + pricing = {share:.0%}"
            )
            cost["share of per-call overhead"] = share
    first, loaders = first_call(args.first_call_runs)
    print(f"\nFirst call (wall ms, median of {args.first_call_runs} fresh interpreters)")
    for name, value in first.items():
        print(f"  {name:62} {value:8.2f}")
    now = first["instrumented, right after init(): first call ms"]
    later = first["instrumented, 1 s after init() (table surely loaded): first call ms"]
    load = first["price table load (cold interpreter) ms"]
    ok = "MainThread" not in ",".join(loaders)
    print(
        f"  price table loaded by thread(s): {', '.join(loaders)}; right after init - after "
        f"the load = {now - later:+.2f} ms (table load {load:.1f} ms): price loading "
        f"{'not ' if ok else ''}on the caller's thread ({'met' if ok else 'NOT met'})"
    )
    out = HERE / "results" / "processor.json"
    out.write_text(
        json.dumps(
            {"processor_us": cost, "first_call_ms": first, "price_table_loaded_by": loaders},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
