"""GenAI client metrics and our cost counter, recorded off the caller's thread.

Recording into an SDK meter costs about 10 µs a measurement (attribute sets, aggregation,
exemplars), several times per model call; the call path only queues the numbers, and a daemon
thread records them about every half second. ``drain()`` records what is queued at once
(``agentops_otel.flush()`` and exit call it). They go to the meter provider the instrumentor was
given (``instrument(meter_provider=...)``, or ``init(meter_provider=...)``), else the global one.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from typing import Any, NamedTuple

from opentelemetry import metrics

from agentops_otel import semconv as A

_MAX_QUEUED = 100_000  # beyond this the oldest measurements are dropped
_INTERVAL_S = 0.5


class Instruments:
    """Our instruments on one meter provider (``None``: the global one), created at first use
    on the worker thread."""

    def __init__(self, meter_provider: Any = None) -> None:
        self.meter_provider = meter_provider
        self._created: tuple[Any, Any, Any] | None = None
        self._durations: dict[str, Any] = {}  # other duration histograms: name -> histogram

    def _meter(self) -> Any:
        return metrics.get_meter(A.TRACER_NAME, meter_provider=self.meter_provider)

    def created(self) -> tuple[Any, Any, Any]:
        """(token usage histogram, duration histogram, cost counter)."""
        if self._created is None:
            meter = self._meter()
            self._created = (
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
        return self._created

    def duration(self, name: str) -> Any:
        """The duration histogram ``name`` (seconds)."""
        histogram = self._durations.get(name)
        if histogram is None:
            histogram = self._durations[name] = self._meter().create_histogram(
                name,
                unit="s",
                description=f"Duration of {name.rsplit('.', 2)[0]} operations",
                explicit_bucket_boundaries_advisory=list(A.DURATION_BUCKETS),
            )
        return histogram


class Dimensions(NamedTuple):
    """The attribute sets of one kind of call: of all its measurements, of its token counts
    and of its cost."""

    base: dict[str, Any]
    input: dict[str, Any]
    output: dict[str, Any]
    cost: dict[str, Any]


GLOBAL = Instruments()
# The meter provider an instrumentor was given (``instrument(meter_provider=...)``), by its tracer.
_bound: weakref.WeakKeyDictionary[Any, Instruments] = weakref.WeakKeyDictionary()
_queue: deque[tuple[Any, ...]] = deque(maxlen=_MAX_QUEUED)
_duration_queue: deque[tuple[Instruments, str, float, dict[str, Any]]] = deque(maxlen=_MAX_QUEUED)
_lock = threading.Lock()
_worker: threading.Thread | None = None


def bind(tracer: Any, meter_provider: Any) -> None:
    """Record the metrics of spans started with ``tracer`` on ``meter_provider`` (None: the
    global meter provider)."""
    if meter_provider is None:
        _bound.pop(tracer, None)
    else:
        _bound[tracer] = Instruments(meter_provider)


def instruments_for(tracer: Any) -> Instruments:
    """The instruments for spans of ``tracer``: its instrumentor's meter provider, else global."""
    try:
        return _bound.get(tracer, GLOBAL)
    except TypeError:  # a tracer that cannot be weakly referenced: never bound
        return GLOBAL


def record(
    target: Instruments,
    duration_s: float,
    dimensions: Dimensions,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cost_usd: float | None = None,
) -> None:
    """Queue one call's measurements (never blocks; the worker records them): its duration,
    token counts when it reported usage, and its cost when it was priced."""
    _queue.append((target, duration_s, dimensions, input_tokens, output_tokens, cost_usd))
    if _worker is None:
        _start_worker()


def record_duration(
    name: str, seconds: float, attributes: dict[str, Any], target: Instruments = GLOBAL
) -> None:
    """Queue one measurement of the duration histogram ``name`` (seconds)."""
    _duration_queue.append((target, name, seconds, attributes))
    if _worker is None:
        _start_worker()


def drain() -> None:
    """Record every queued measurement now. A drain's costs are added to the cost counter once
    per attribute set, summed: a counter keeps only their sum, and each ``add`` costs as much
    as a histogram's ``record``."""
    with _lock:
        while _duration_queue:
            target, name, seconds, attributes = _duration_queue.popleft()
            target.duration(name).record(seconds, attributes)
        costs: dict[tuple[int, int], list[Any]] = {}  # (target, attributes) ids -> their sum
        while _queue:
            target, seconds, dimensions, inp, out, cost = _queue.popleft()
            token_usage, duration, _ = target.created()
            duration.record(seconds, dimensions.base)
            if inp is not None:
                token_usage.record(inp, dimensions.input)
                token_usage.record(out, dimensions.output)
            if cost is not None:
                key = (id(target), id(dimensions.cost))  # both kept alive by the entry
                summed = costs.get(key)
                if summed is None:
                    costs[key] = [target, dimensions.cost, cost]
                else:
                    summed[2] += cost
        for target, attributes, total in costs.values():
            target.created()[2].add(total, attributes)


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
