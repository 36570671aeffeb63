"""Never block, never lose silently: real OTLP/HTTP export against failing servers on loopback.

Timing checks here are deliberately loose (the brief allows "p99 under 5 ms and not 10x live");
exact numbers belong in benchmarks/.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from agentops_otel import semconv as A
from agentops_otel._config import Settings
from agentops_otel.export import BoundedExportProcessor, build_span_processors
from agentops_otel.testing.otlp_receiver import RESET, OtlpReceiver

N_SPANS = 1500  # live
N_FAULT = 3000  # failing: enough to overflow the queue
QUEUE_CAP = 1024
EXIT_TIMEOUT_S = 1.0


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _slow(handler) -> None:
    time.sleep(10)
    return None


FAULTS: dict[str, Callable | None] = {
    "live": None,
    "slow_10s": _slow,
    "http_429": lambda h: 429,
    "http_500": lambda h: 500,
    "reset": lambda h: RESET,
}


@contextmanager
def _destination(fault: str) -> Iterator[tuple[str, OtlpReceiver | None]]:
    if fault == "dead_port":
        yield f"http://127.0.0.1:{_dead_port()}", None
        return
    with OtlpReceiver(fault=FAULTS[fault]) as receiver:
        yield receiver.url, receiver


def _run(
    url: str, n: int, queue_cap: int = QUEUE_CAP, exit_timeout_s: float = EXIT_TIMEOUT_S
) -> dict:
    """End ``n`` spans through our OTLP export processor; time each ``end()``."""
    reader = InMemoryMetricReader()
    processors = build_span_processors(
        Settings(
            otlp_endpoint=url,
            local_store=False,
            max_queue_size=queue_cap,
            exit_timeout_s=exit_timeout_s,
        ),
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    (processor,) = processors
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("faults")
    latencies, max_queue = [], 0
    for i in range(n):
        span = tracer.start_span(
            "chat gpt-4o",
            attributes={
                A.SPAN_KIND: A.KIND_LLM,
                A.SESSION_ID: "s",
                A.COST_USD: 0.01,
                A.LLM_CALLS: i,
            },
        )
        t0 = time.perf_counter()
        span.end()
        latencies.append(time.perf_counter() - t0)
        max_queue = max(max_queue, len(processor._queue))
    t0 = time.perf_counter()
    provider.shutdown()
    shutdown_s = time.perf_counter() - t0
    latencies.sort()
    data = reader.get_metrics_data()  # None when nothing was recorded
    points = [
        p.value
        for rm in (data.resource_metrics if data else ())
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == A.METRIC_DROPPED_SPANS
        for p in m.data.data_points
    ]
    return {
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
        "max_queue": max_queue,
        "shutdown_s": shutdown_s,
        "processor": processor,
        "metric_dropped": sum(points),
    }


@pytest.fixture(scope="module")
def live() -> dict:
    with _destination("live") as (url, receiver):
        # A queue that holds every span and a generous exit bound: delivery must not depend
        # on how fast a loaded machine runs the exporter thread.
        result = _run(url, N_SPANS, queue_cap=2 * N_SPANS, exit_timeout_s=30)
        assert receiver is not None and receiver.wait_for(N_SPANS, 5)
        result["received"] = len(receiver.spans)
    return result


def test_live_destination_gets_everything(live: dict) -> None:
    assert live["received"] == N_SPANS
    assert live["processor"].dropped == 0 and live["metric_dropped"] == 0


@pytest.mark.parametrize("fault", ["dead_port", "slow_10s", "http_429", "http_500", "reset"])
def test_failing_destination_costs_the_caller_nothing(fault: str, live: dict, caplog) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="agentops_otel"),
        _destination(fault) as (
            url,
            receiver,
        ),
    ):
        result = _run(url, N_FAULT)
        received = len(receiver.spans) if receiver else 0
    processor: BoundedExportProcessor = result["processor"]

    # Latency of span.end() is unaffected (loose bounds: no flaky timing).
    assert result["p99"] < 0.005, result
    assert result["p50"] < max(10 * live["p50"], 0.001), (result, live)
    # Memory bounded: the queue fills to its cap and no further.
    assert result["max_queue"] == QUEUE_CAP
    # Nothing lost silently: every span was delivered or counted, in the metric too.
    assert received + processor.dropped == N_FAULT, processor.lost
    assert processor.lost["queue_full"] > 0 and result["metric_dropped"] == processor.dropped
    # Reported once while running, once as a total at exit.
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("agentops_otel")]
    assert len([m for m in messages if "is losing spans" in m]) == 1, messages
    assert len([m for m in messages if f"lost {processor.dropped} spans" in m]) == 1, messages
    # Exit waits at most the bound (plus scheduling slack).
    assert result["shutdown_s"] < EXIT_TIMEOUT_S + 1.5


_APP = """
import sys, time
from opentelemetry.sdk.trace import TracerProvider
from agentops_otel._config import Settings
from agentops_otel.export import build_span_processors
provider = TracerProvider()  # registers its own atexit shutdown, as an app's would
for p in build_span_processors(Settings(otlp_endpoint=sys.argv[1], local_store=False,
                                        exit_timeout_s=float(sys.argv[2]))):
    provider.add_span_processor(p)
tracer = provider.get_tracer("app")
for i in range(2000):
    with tracer.start_as_current_span("work", attributes={"agentops.session.id": "s"}):
        pass
print(time.time(), flush=True)
"""


@pytest.mark.parametrize("fault", ["dead_port", "slow_10s", "http_429"])
def test_process_exit_is_bounded(fault: str) -> None:
    with _destination(fault) as (url, _):
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_APP), url, str(EXIT_TIMEOUT_S)],
            stdout=subprocess.PIPE,
            text=True,
        )
        out, _ = proc.communicate(timeout=60)
        exited = time.time()
    assert proc.returncode == 0
    assert exited - float(out.strip()) < EXIT_TIMEOUT_S + 1.5


def test_one_exit_bound_for_several_stuck_destinations(tmp_path) -> None:
    """TracerProvider shuts processors down one after another; the bound is still shared."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from agentops_otel.store import Store

    with _destination("slow_10s") as (slow, _), _destination("dead_port") as (dead, _):
        processors = build_span_processors(
            Settings(
                otlp_endpoint=slow,
                exporters=(OTLPSpanExporter(endpoint=dead + "/v1/traces"),),
                local_store=True,
                store_path=str(tmp_path),
                exit_timeout_s=EXIT_TIMEOUT_S,
            )
        )
        provider = TracerProvider(shutdown_on_exit=False)
        for processor in processors:
            provider.add_span_processor(processor)
        tracer = provider.get_tracer("multi")
        for _ in range(200):
            with tracer.start_as_current_span("op", attributes={A.SESSION_ID: "multi"}):
                pass
        t0 = time.perf_counter()
        provider.shutdown()
        elapsed = time.perf_counter() - t0
    assert [p.name for p in processors] == ["local-store", "otlp", "OTLPSpanExporter"]
    assert elapsed < EXIT_TIMEOUT_S + 1.5
    assert processors[0].dropped == 0 and processors[1].dropped == processors[2].dropped == 200
    with Store.open(tmp_path) as store:
        assert store.get_session("multi").span_count == 200
