"""Core overheads, measured in one run: decorators against a bare OTel span; ``import
agentops_otel`` + ``init()`` in fresh interpreters (against AgentOps 0.4.21's import); memory
over an uninstrumented process (RSS after import + init and after 10,000 instrumented calls).

    .venv/bin/python benchmarks/bench_core.py [--rounds 15] [--memory-calls 10000]
        [--only decorators import memory]

Decorator timings are CPU time per call, modes interleaved round by round, medians. The import
is timed in the interpreter it runs (``.venv``, where every instrumentor of ours is installed;
bytecode compiled first), median of fresh interpreters. AgentOps is timed the same way in
``.venvs/bench-agentops``, and openai-v2's start (openai imported first: the SDK, a provider with
a batch processor, ``instrument()``) in ``.venvs/bench-openai-v2`` (benchmarks/setup-peers.sh).
"""

from __future__ import annotations

import argparse
import dataclasses
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
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentops_otel import semconv as A

ROOT = pathlib.Path(__file__).resolve().parent.parent
AGENTOPS_PY = ROOT / ".venvs" / "bench-agentops" / "bin" / "python"
OPENAI_V2_PY = ROOT / ".venvs" / "bench-openai-v2" / "bin" / "python"
HOME = tempfile.mkdtemp(prefix="agentops-bench-home-")


def _cpu_us(fn: Callable[[], object], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


def decorator_overhead(rounds: int, n: int = 20_000) -> dict[str, float]:
    """Overhead per call (us) over the undecorated call, interleaved, inside a session."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(DropExporter()))
    trace.set_tracer_provider(provider)
    import agentops_otel as ao
    from agentops_otel import _config

    ao.init(instrument=False, local_store=False, auto_start_session=False)
    tracer = provider.get_tracer("bench")
    attrs = {
        A.GEN_AI_OPERATION_NAME: "op",
        A.SERVER_PORT: 1,
        A.GEN_AI_REQUEST_MODEL: "m",
        A.GEN_AI_REQUEST_MAX_TOKENS: 2,
    }

    def plain() -> None:
        return None

    def bare_span() -> None:
        with tracer.start_as_current_span("op", attributes=attrs):
            return None

    @ao.operation
    def decorated() -> None:
        return None

    @ao.tool
    def decorated_tool(x: int) -> int:
        return x

    settings = _config.current()
    on = dataclasses.replace(settings, capture_content=True)
    off = dataclasses.replace(settings, capture_content=False)

    def with_content(value: object) -> Callable[[], object]:
        def run() -> object:
            _config.install(value)  # type: ignore[arg-type]
            return decorated_tool(1)

        return run

    modes: dict[str, Callable[[], object]] = {
        "undecorated call": plain,
        "bare OTel span (4 attributes)": bare_span,
        "@operation, no arguments": decorated,
        "@tool with an argument, content on": with_content(on),
        "@tool with an argument, content off": with_content(off),
    }
    samples: dict[str, list[float]] = {k: [] for k in modes}
    with ao.session("bench"):
        for round_ in range(rounds + 1):
            for name, fn in modes.items():
                value = _cpu_us(fn, n)
                if round_:
                    samples[name].append(value)
    _config.install(settings)
    base = statistics.median(samples["undecorated call"])
    # the content modes pay one _config.install per call; measured and removed below
    install_us = statistics.median(_cpu_us(lambda: _config.install(settings), n) for _ in range(5))
    out = {"undecorated call": base}
    for name, values in samples.items():
        if name != "undecorated call":
            extra = install_us if "content" in name else 0.0
            out[name] = statistics.median(values) - base - extra
    return out


def _fresh(python: str, code: str, runs: int) -> list[float]:
    env = {**os.environ, "AGENTOPS_OTEL_HOME": HOME, "AGENTOPS_LOG_LEVEL": "CRITICAL"}
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [python, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=tempfile.gettempdir(),
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


_COMPILE = (
    "import compileall, sys, sysconfig; "
    "[compileall.compile_dir(d, quiet=1, workers=0) "
    "for d in [sysconfig.get_paths()['purelib'], *sys.argv[1:]]]"
)


START_OURS = "openai imported, then: import agentops_otel + init()"
START_V2 = "openai imported, then: SDK provider + batch processor + openai-v2 instrument()"


def import_times(runs: int) -> dict[str, float]:
    """Median ms of fresh interpreters, ours and AgentOps' interleaved."""
    for python in (sys.executable, str(AGENTOPS_PY), str(OPENAI_V2_PY)):  # bytecode first
        if pathlib.Path(python).exists():
            subprocess.run(
                [python, "-c", _COMPILE, str(ROOT / "agentops_otel"), str(ROOT / "instrumentors")],
                check=False,
                capture_output=True,
            )
    ours_import = (
        "import time; t=time.perf_counter(); import agentops_otel as ao; "
        "print((time.perf_counter()-t)*1000)"
    )
    ours_init = (
        "import time; t=time.perf_counter(); import agentops_otel as ao; "
        "ao.init(); print((time.perf_counter()-t)*1000)"
    )
    ao_import = (
        "import time; t=time.perf_counter(); import agentops; print((time.perf_counter()-t)*1000)"
    )
    ao_init = (
        "import time; t=time.perf_counter(); import agentops; "
        "agentops.init(api_key='00000000-0000-0000-0000-000000000000', "
        "endpoint='http://127.0.0.1:9', exporter_endpoint='http://127.0.0.1:9/v1/traces',"
        " auto_start_session=False); print((time.perf_counter()-t)*1000)"
    )
    # "start tracing" with openai imported first (not timed), as an app does
    ours_start = "import openai; " + ours_init
    v2_start = (
        "import openai, time; t=time.perf_counter(); from opentelemetry import trace; "
        "from opentelemetry.sdk.trace import TracerProvider; "
        "from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter; "
        "p=TracerProvider(); p.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter())); "
        "trace.set_tracer_provider(p); "
        "from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor; "
        "OpenAIInstrumentor().instrument(); print((time.perf_counter()-t)*1000)"
    )
    cases = {
        "agentops_otel: import": (sys.executable, ours_import),
        "agentops_otel: import + init() (every instrumentor discovered)": (
            sys.executable,
            ours_init,
        ),
        START_OURS: (sys.executable, ours_start),
    }
    if OPENAI_V2_PY.exists():
        cases[START_V2] = (str(OPENAI_V2_PY), v2_start)
    if AGENTOPS_PY.exists():
        cases["agentops 0.4.21: import"] = (str(AGENTOPS_PY), ao_import)
        cases["agentops 0.4.21: import + init()"] = (str(AGENTOPS_PY), ao_init)
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for python, code in cases.values():
        _fresh(python, code, 1)  # warm the file cache
    for _ in range(runs):
        for name, (python, code) in cases.items():
            samples[name] += _fresh(python, code, 1)
    return {k: statistics.median(v) for k, v in samples.items()}


_MEMORY_APP = r"""
import gc, sys, time
sys.path.insert(0, {bench!r})
def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
import _mock_openai as m
if {instrumented}:
    import agentops_otel
    agentops_otel.init({init_args})
c = m.client()
m.plain(c)
gc.collect(); time.sleep(0.5)
after_init = rss_mb()
for _ in range({calls}):
    m.plain(c)
if {instrumented}:
    agentops_otel.flush(10)
gc.collect(); time.sleep(0.5)
print(after_init, rss_mb())
"""


MEMORY_CASES = {
    "uninstrumented": (False, ""),
    "instrumented (init() defaults: local store)": (True, ""),
    "instrumented, local_store=False": (True, "local_store=False"),
}


def memory(calls: int, runs: int) -> tuple[dict[str, float], dict[str, str]]:
    """RSS (MB) of an app making ``calls`` chat completions, uninstrumented and with
    ``agentops_otel.init()`` (every instrumentor; local store in a temporary home, or none),
    and what the export queue reported dropping."""
    out: dict[str, list[float]] = {}
    drops: dict[str, str] = {}
    for _ in range(runs):
        for tag, (instrumented, init_args) in MEMORY_CASES.items():
            code = _MEMORY_APP.format(
                bench=str(ROOT / "benchmarks"),
                instrumented=instrumented,
                calls=calls,
                init_args=init_args,
            )
            env = {**os.environ, "AGENTOPS_OTEL_HOME": tempfile.mkdtemp(prefix="agentops-")}
            res = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
            )
            init_mb, end_mb = map(float, res.stdout.split()[-2:])
            out.setdefault(f"{tag}: after import + init", []).append(init_mb)
            out.setdefault(f"{tag}: after {calls} calls", []).append(end_mb)
            lost = [line for line in res.stderr.splitlines() if "lost" in line]
            if lost:
                drops[tag] = lost[-1]
    return {k: statistics.median(v) for k, v in out.items()}, drops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--import-runs", type=int, default=9)
    parser.add_argument("--memory-calls", type=int, default=10_000)
    parser.add_argument("--memory-runs", type=int, default=3)
    parser.add_argument(
        "--only", choices=["decorators", "import", "memory"], nargs="*", help="parts to run"
    )
    args = parser.parse_args()
    parts = set(args.only or ["decorators", "import", "memory"])
    results: dict[str, object] = {}
    if "decorators" in parts:
        results["decorators"] = _report_decorators(args.rounds)
    if "import" in parts:
        results["import_ms"] = _report_import(args.import_runs)
    if "memory" in parts:
        results["memory_mb"] = _report_memory(args.memory_calls, args.memory_runs)
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "core.json").write_text(json.dumps(results, indent=1))


def _report_decorators(rounds: int) -> dict[str, float]:
    dec = decorator_overhead(rounds)
    bare = dec["bare OTel span (4 attributes)"]
    print(
        f"Decorators (CPU us per call over the undecorated call, medians of {rounds} "
        "interleaved rounds)"
    )
    for name, value in dec.items():
        ratio = (
            ""
            if name in ("undecorated call", "bare OTel span (4 attributes)")
            else f"{value / bare:6.2f}x bare span"
        )
        print(f"  {name:42} {value:8.2f} {ratio}")
    worst = max(v for k, v in dec.items() if k.startswith("@")) / bare
    print(
        f"  target: decorator <= 1.5x bare span -> worst {worst:.2f}x "
        f"({'met' if worst <= 1.5 else 'NOT met'})"
    )
    return dec


def _report_import(runs: int) -> dict[str, float]:
    imp = import_times(runs)
    print(f"\nImport (ms, median of {runs} fresh interpreters, interleaved)")
    for name, value in imp.items():
        print(f"  {name:80} {value:8.1f}")
    ours = imp["agentops_otel: import + init() (every instrumentor discovered)"]
    print(
        f"  target: import + init <= 150 ms -> {ours:.0f} ms "
        f"({'met' if ours <= 150 else 'NOT met'})"
    )
    if START_V2 in imp:
        ratio = imp[START_OURS] / imp[START_V2]
        print(
            f"  target: start tracing <= 1.2x openai-v2's -> {ratio:.2f}x "
            f"({'met' if ratio <= 1.2 else 'NOT met'})"
        )
    return imp


def _report_memory(calls: int, runs: int) -> dict[str, float]:
    mem, drops = memory(calls, runs)
    print(f"\nMemory (RSS MB, median of {runs} fresh processes)")
    for name, value in mem.items():
        print(f"  {name:60} {value:8.1f}")
    key = f"after {calls} calls"
    base_init = mem["uninstrumented: after import + init"]
    base_end = mem[f"uninstrumented: {key}"]
    for tag in list(MEMORY_CASES)[1:]:
        over_init = mem[f"{tag}: after import + init"] - base_init
        over_end = mem[f"{tag}: {key}"] - base_end
        worst_mb = max(over_init, over_end)
        print(
            f"  {tag}: +{over_init:.1f} MB after init, +{over_end:.1f} MB {key}; "
            f"target <= 10 MB ({'met' if worst_mb <= 10 else 'NOT met'})"
        )
    for tag, line in drops.items():
        print(f"  {tag}: {line.strip()}")
    return mem


if __name__ == "__main__":
    main()
