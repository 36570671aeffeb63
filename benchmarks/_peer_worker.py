"""One instrumentation in its own environment, driven by bench_peers.py over stdin/stdout.

    <env>/bin/python benchmarks/_peer_worker.py --peer openlit --content on [--setup tracer]

Sets up the same SDK pipeline everywhere (TracerProvider + SimpleSpanProcessor to a dropping
exporter; with ``--setup all``, the default, also an SDK MeterProvider with a reader that is
never collected and an SDK LoggerProvider that drops), turns the peer on through its documented
API, then toggles its patches on and off (the attributes it replaced on openai/httpx classes and
modules) so that the uninstrumented call, a bare span (on a provider of its own with the same
pipeline) and the instrumented call are measured in this same process, interleaved. A batch is
timed in CPU (every thread of the process and its child processes, e.g. a store writer) and wall
time, and ends once the work our background threads were handed is done. Each
``run CALLS ROUNDS`` line on stdin answers one ``@@BENCH {json}`` line on stdout
(``serve``, which bench_providers.py's workers use too).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Callable
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
_PROVIDERS: list[Any] = []  # tracer providers to flush before counting spans
_SETTLE: list[Callable[[], Any]] = []  # work queued for background threads, done inside the timing
PATCHED_PREFIXES = ("openai", "httpx")  # modules whose attributes a peer may replace


def _pipeline(setup: str) -> tuple[Any, Any, Any, Any]:
    """Global SDK providers shared by every mode of this process: a tracer provider, and with
    ``setup == "all"`` a meter and a logger provider too (else those stay the API's no-ops)."""
    from _mock_openai import DropExporter
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = DropExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)
    if setup != "all":
        return tracer_provider, None, None, exporter
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    metrics.set_meter_provider(meter_provider)
    logger_provider = None
    try:
        from opentelemetry._logs import set_logger_provider
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import LogExporter, SimpleLogRecordProcessor

        class _DropLogs(LogExporter):
            def export(self, batch: Any) -> Any:
                from opentelemetry.sdk._logs.export import LogExportResult

                return LogExportResult.SUCCESS

            def shutdown(self) -> None:
                pass

            def force_flush(self, timeout_millis: int = 30_000) -> bool:
                return True

        logger_provider = LoggerProvider()
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(_DropLogs()))
        set_logger_provider(logger_provider)
    except Exception as exc:  # an SDK without the logs API: content events go nowhere
        print(f"no SDK LoggerProvider: {exc!r}", file=sys.stderr)
    return tracer_provider, meter_provider, logger_provider, exporter


def _openlit_prices() -> str:
    """A local price file, so openlit does not download one at init."""
    entry = {"promptPrice": 0.00015, "completionPrice": 0.0006}
    data = {"chat": {"gpt-4o-mini": entry}, "embeddings": {}, "images": {}, "audio": {}}
    path = pathlib.Path(tempfile.gettempdir()) / "bench-openlit-prices.json"
    path.write_text(json.dumps(data))
    return str(path)


def _instrument(peer: str, content: bool, tp: Any, mp: Any, lp: Any, exporter: Any) -> str:
    """Turn the peer on; return a one-line description of how."""
    flag = "true" if content else "false"
    if peer == "ours":
        import agentops_otel

        agentops_otel.init(instrument=["openai"], capture_content=content, local_store=False)
        _SETTLE.append(agentops_otel.flush)  # its queued metrics are recorded inside the timing
        return f"agentops_otel.init(instrument=['openai'], capture_content={content}), in a session"
    if peer == "ours-default":  # as users get it: the local store on, every instrumentor
        import agentops_otel

        os.environ["AGENTOPS_OTEL_HOME"] = tempfile.mkdtemp(prefix="bench-ours-store-")
        agentops_otel.init(capture_content=content)
        _SETTLE.append(agentops_otel.flush)
        return f"agentops_otel.init(capture_content={content}): local store on, in a session"
    if peer == "openai-v2":
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = flag
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tp, meter_provider=mp, logger_provider=lp)
        return f"OpenAIInstrumentor().instrument(), CAPTURE_MESSAGE_CONTENT={flag}"
    if peer == "openlit":
        import openlit

        openlit.init(
            capture_message_content=content,
            pricing_json=_openlit_prices(),
            disable_batch=True,
            collect_gpu_stats=False,
        )
        return f"openlit.init(capture_message_content={content}, local pricing_json)"
    if peer == "openinference":
        from openinference.instrumentation import TraceConfig
        from openinference.instrumentation.openai import OpenAIInstrumentor

        config = TraceConfig(hide_inputs=not content, hide_outputs=not content)
        OpenAIInstrumentor().instrument(tracer_provider=tp, config=config)
        return f"OpenAIInstrumentor().instrument(TraceConfig(hide_inputs/outputs={not content}))"
    if peer == "openllmetry":
        os.environ["TRACELOOP_TRACE_CONTENT"] = flag
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
        return f"OpenAIInstrumentor().instrument(), TRACELOOP_TRACE_CONTENT={flag}"
    if peer == "agentops":
        return _agentops(exporter)
    raise SystemExit(f"unknown peer {peer}")


def _agentops(exporter: Any) -> str:
    """agentops.init with every endpoint on a closed loopback port and its span exporter
    replaced by the same dropping exporter as everyone else's (nothing leaves the machine)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    os.environ["AGENTOPS_LOG_LEVEL"] = "CRITICAL"
    import agentops
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    agentops.init(
        api_key="00000000-0000-0000-0000-000000000000",
        endpoint=dead,
        app_url=dead,
        exporter_endpoint=f"{dead}/v1/traces",
        auto_start_session=True,
        log_level="CRITICAL",
    )
    # agentops keeps its own TracerProvider (the global one was set before it): count and drop
    # its spans like everyone else's, through the shared exporter
    from agentops.sdk.core import tracer as core

    replaced = 0
    for processor in core.provider._active_span_processor._span_processors:
        if isinstance(processor, BatchSpanProcessor):
            getattr(processor, "_batch_processor", processor)._exporter = exporter
            replaced += 1
    _PROVIDERS.append(core.provider)
    return (
        f"agentops.init(auto_start_session=True), own provider, {replaced} batch "
        "exporter(s) -> drop"
    )


def _owners() -> list[tuple[Any, str]]:
    """(owner, name) of every attribute an instrumentor might replace: module globals and class
    attributes of the ``PATCHED_PREFIXES`` modules (openai*, httpx*), and
    ``builtins.__import__`` (agentops hooks it)."""
    import builtins

    found: list[tuple[Any, str]] = [(builtins, "__import__")]
    for name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType) or not (name.startswith(PATCHED_PREFIXES)):
            continue
        for attr, value in list(vars(module).items()):
            found.append((module, attr))
            if isinstance(value, type) and value.__module__ == name:
                found.extend((value, a) for a in list(vars(value)))
    return found


def _snapshot() -> dict[tuple[int, str], tuple[Any, str, Any]]:
    return {(id(owner), attr): (owner, attr, vars(owner).get(attr)) for owner, attr in _owners()}


_ABSENT = object()


class _Patches:
    """The peer's replacements, switchable: off restores the originals (removing attributes it
    added, such as a wrapper on a subclass over an inherited method), on puts theirs back."""

    def __init__(self, before: dict, after: dict) -> None:
        known = {id(owner) for owner, _, _ in before.values()}  # owners of new modules: not ours
        self.changes = [
            (owner, attr, before[key][2] if key in before else _ABSENT, value)
            for key, (owner, attr, value) in after.items()
            if id(owner) in known
            and (not attr.startswith("__") or attr == "__import__")
            and not isinstance(value, types.ModuleType)
            and (key not in before or before[key][2] is not value)
        ]
        self.names = sorted(
            {
                f"{getattr(o, '__qualname__', getattr(o, '__name__', o))}.{a}"
                for o, a, _, _ in self.changes
            }
        )

    def set(self, on: bool) -> None:
        for owner, attr, original, patched in self.changes:
            if on or original is not _ABSENT:
                setattr(owner, attr, patched if on else original)
            elif attr in vars(owner):
                delattr(owner, attr)


def _cpu_s() -> tuple[float, float]:
    """CPU seconds of this process (every thread), and of it with its child processes (a store
    writer process, if the instrumentation starts one). A child's CPU is read from
    ``/proc/<pid>/task/*/schedstat`` (nanoseconds); ``/proc/<pid>/stat`` counts in clock ticks
    (10 ms: 100 us per call in a batch of 100), too coarse for a per-call figure."""
    own = total = time.process_time()
    for task in pathlib.Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            children = task.read_text().split()
        except OSError:  # a thread that ended meanwhile (a flush's helper thread)
            continue
        for child in children:
            for stat in pathlib.Path(f"/proc/{child}/task").glob("*/schedstat"):
                try:
                    total += int(stat.read_text().split()[0]) / 1e9
                except (OSError, IndexError, ValueError):
                    pass
    return own, total


def _batch(run: Callable[[Any], None], c: Any, calls: int) -> tuple[float, float, float]:
    """(CPU us, wall us, app-process CPU us) per call over ``calls`` calls, the work queued for
    our background threads and child processes (store, metrics) included: the batch ends once
    it is done. CPU counts the child processes; app-process CPU does not."""
    gc.collect()
    (app, cpu), wall = _cpu_s(), time.perf_counter()
    for _ in range(calls):
        run(c)
    for settle in _SETTLE:
        settle()
    wall = time.perf_counter() - wall
    app_end, cpu_end = _cpu_s()
    return (cpu_end - cpu) / calls * 1e6, wall / calls * 1e6, (app_end - app) / calls * 1e6


def _bare_tracer() -> Any:
    """A tracer on a provider of its own with the app's pipeline (a dropping exporter): the bare
    span pays for no instrumentation's processors, even when one joined the app's provider."""
    from _mock_openai import DropExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(DropExporter()))
    return provider.get_tracer("bench")


Mode = tuple[Callable[[Any], None], Any, bool]  # (run, its argument, patches on)


def serve(
    info: dict[str, Any], scenarios: dict[str, dict[str, Mode]], patches: _Patches, exporter: Any
) -> None:
    """Announce ``info``, then answer each ``run CALLS ROUNDS`` line on stdin: per scenario,
    ``ROUNDS`` interleaved batches of ``CALLS`` calls of every mode, the median CPU (with and
    without child processes) and wall us per call and the spans per call
    (``exporter.count``) of each mode."""
    print("@@BENCH " + json.dumps({"ready": info}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] != "run":
            break
        calls, rounds = int(cmd[1]), int(cmd[2])
        result: dict[str, dict[str, Any]] = {}
        for scenario, modes in scenarios.items():
            cpu: dict[str, list[float]] = {mode: [] for mode in modes}
            wall: dict[str, list[float]] = {mode: [] for mode in modes}
            app: dict[str, list[float]] = {mode: [] for mode in modes}
            spans: dict[str, float] = {}
            for _ in range(rounds):
                for mode, (run, c, on) in modes.items():
                    patches.set(on)
                    exporter.count = 0
                    cpu_us, wall_us, app_us = _batch(run, c, calls)
                    cpu[mode].append(cpu_us)
                    wall[mode].append(wall_us)
                    app[mode].append(app_us)
                    for provider in _PROVIDERS:
                        provider.force_flush()
                    spans[mode] = exporter.count / calls
                    patches.set(False)
            result[scenario] = {
                mode: {
                    "us": statistics.median(cpu[mode]),
                    "wall_us": statistics.median(wall[mode]),
                    "app_us": statistics.median(app[mode]),
                    "spans_per_call": spans[mode],
                }
                for mode in modes
            }
        print("@@BENCH " + json.dumps({"result": result}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", required=True)
    parser.add_argument("--content", choices=["on", "off"], default="off")
    parser.add_argument("--setup", choices=["tracer", "all"], default="all")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    tp, mp, lp, exporter = _pipeline(args.setup)
    import _mock_openai as m
    import openai

    c = m.client()
    m.plain(c)
    m.streamed(c)  # import everything the SDK imports lazily before the snapshot
    before = _snapshot()
    how = _instrument(args.peer, args.content == "on", tp, mp, lp, exporter)
    patches = _Patches(before, _snapshot())
    if not patches.changes:
        raise SystemExit(f"{args.peer}: no patched attribute found on openai/httpx")
    tracer = _bare_tracer()
    scenarios = {
        scenario: {
            "uninstrumented": (call, c, False),
            "bare": (m.bare(tracer, call), c, False),
            "peer": (call, c, True),
        }
        for scenario, call in {"plain": m.plain, "stream": m.streamed}.items()
    }
    info = {
        "peer": args.peer,
        "content": args.content,
        "setup": args.setup,
        "how": how,
        "patched": patches.names,
        "openai": openai.__version__,
        "python": sys.version.split()[0],
    }
    serve(info, scenarios, patches, exporter)


if __name__ == "__main__":
    main()
