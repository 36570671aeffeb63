"""The tracer our own spans (sessions, decorators) start on: the provider ``init()`` chose
(:mod:`agentops_otel._runtime` sets it), else the global provider."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Tracer

from agentops_otel import semconv as A

_tracer: Tracer | None = None  # on the provider init() chose; None before init, after shutdown


def use(provider: Any) -> None:
    """Start our spans on ``provider`` (``None``: on the global provider again)."""
    global _tracer
    _tracer = None if provider is None else provider.get_tracer(A.TRACER_NAME)


def tracer() -> Tracer:
    """Our tracer: on the provider ``init()`` chose, else on the global provider."""
    return _tracer or trace.get_tracer_provider().get_tracer(A.TRACER_NAME)
