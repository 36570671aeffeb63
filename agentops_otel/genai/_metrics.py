"""GenAI client metrics and our cost counter, created once on the global meter (a proxy)."""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics

from agentops_otel import _attributes as A

_instruments: tuple[Any, Any, Any] | None = None


def instruments() -> tuple[Any, Any, Any]:
    """(token usage histogram, duration histogram, cost counter)."""
    global _instruments
    if _instruments is None:
        meter = metrics.get_meter(A.TRACER_NAME)
        _instruments = (
            meter.create_histogram(
                A.METRIC_TOKEN_USAGE, unit="{token}",
                description="Number of input and output tokens used",
                explicit_bucket_boundaries_advisory=list(A.TOKEN_USAGE_BUCKETS)),
            meter.create_histogram(
                A.METRIC_OPERATION_DURATION, unit="s",
                description="GenAI operation duration",
                explicit_bucket_boundaries_advisory=list(A.DURATION_BUCKETS)),
            meter.create_counter(
                A.METRIC_COST, unit="USD", description="Cost of model calls in US dollars"),
        )
    return _instruments
