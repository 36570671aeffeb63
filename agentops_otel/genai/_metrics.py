"""GenAI client metrics and our cost counter, recorded off the caller's thread.

Recording into an SDK meter costs about 10 µs a measurement (attribute sets, aggregation,
exemplars), several times per model call; the call path only queues the numbers, and a daemon
thread records them about every half second. ``drain()`` records what is queued at once
(``agentops_otel.flush()`` and exit call it).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from opentelemetry import metrics

from agentops_otel import semconv as A

_MAX_QUEUED = 100_000  # beyond this the oldest measurements are dropped
_INTERVAL_S = 0.5

_instruments: tuple[Any, Any, Any] | None = None
_queue: deque[tuple[Any, ...]] = deque(maxlen=_MAX_QUEUED)
# Other duration histograms (e.g. ``mcp.client.operation.duration``): name → histogram.
_durations: dict[str, Any] = {}
_duration_queue: deque[tuple[str, float, dict[str, Any]]] = deque(maxlen=_MAX_QUEUED)
_lock = threading.Lock()
_worker: threading.Thread | None = None


def instruments() -> tuple[Any, Any, Any]:
    """(token usage histogram, duration histogram, cost counter) on the global meter."""
    global _instruments
    if _instruments is None:
        meter = metrics.get_meter(A.TRACER_NAME)
        _instruments = (
            meter.create_histogram(
                A.METRIC_TOKEN_USAGE,
                unit="{token}",
                description="Number of input and output tokens used",
                explicit_bucket_boundaries_advisory=list(A.TOKEN_USAGE_BUCKETS),
            ),
            meter.create_histogram(
                A.METRIC_OPERATION_DURATION,
                unit="s",
                description="GenAI operation duration",
                explicit_bucket_boundaries_advisory=list(A.DURATION_BUCKETS),
            ),
            meter.create_counter(
                A.METRIC_COST, unit="USD", description="Cost of model calls in US dollars"
            ),
        )
    return _instruments


def record(
    duration_s: float,
    attributes: dict[str, Any],
    tokens: tuple[tuple[int, dict[str, Any]], ...] = (),
    cost: tuple[float, dict[str, Any]] | None = None,
) -> None:
    """Queue one call's measurements (never blocks; the worker records them)."""
    _queue.append((duration_s, attributes, tokens, cost))
    if _worker is None:
        _start_worker()


def record_duration(name: str, seconds: float, attributes: dict[str, Any]) -> None:
    """Queue one measurement of the duration histogram ``name`` (seconds)."""
    _duration_queue.append((name, seconds, attributes))
    if _worker is None:
        _start_worker()


def drain() -> None:
    """Record every queued measurement now."""
    token_usage, duration, cost_counter = instruments()
    with _lock:
        while _duration_queue:
            name, seconds, attributes = _duration_queue.popleft()
            histogram = _durations.get(name)
            if histogram is None:
                histogram = _durations[name] = metrics.get_meter(A.TRACER_NAME).create_histogram(
                    name,
                    unit="s",
                    description=f"Duration of {name.rsplit('.', 2)[0]} operations",
                    explicit_bucket_boundaries_advisory=list(A.DURATION_BUCKETS),
                )
            histogram.record(seconds, attributes)
        while _queue:
            seconds, attributes, tokens, cost = _queue.popleft()
            duration.record(seconds, attributes)
            for count, token_attributes in tokens:
                token_usage.record(count, token_attributes)
            if cost is not None:
                cost_counter.add(*cost)


def _run() -> None:
    while True:
        time.sleep(_INTERVAL_S)
        try:
            drain()
        except Exception:  # noqa: BLE001 - a broken meter must not kill the worker
            _queue.clear()
            _duration_queue.clear()


def _start_worker() -> None:
    global _worker
    with _lock:
        if _worker is None:
            _worker = threading.Thread(target=_run, name="agentops-otel-metrics", daemon=True)
            _worker.start()
