"""Carry the trace context across the threads some CrewAI releases start without copying it.

CrewAI 1.0 runs ``Task.execute_async`` in a ``threading.Thread`` and an agent with
``max_execution_time`` in a thread pool, neither with ``contextvars.copy_context()``: spans made
there would start new traces. ``give`` wraps the method that starts the thread and notes the
caller's context for the object; ``adopt`` wraps the method the thread runs and attaches that
context when the thread has none of its own. Releases that copy the context pass straight through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from agentops_otel.instrumentation import call_in_context

_MAX_PENDING = 1024  # a thread that never ran leaves its entry behind: keep that bounded


class Handoff:
    """One pair of wrappers: ``give`` on the thread starter, ``adopt`` on the thread's target."""

    def __init__(self) -> None:
        self._pending: dict[int, Context] = {}

    def give(self, wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if len(self._pending) >= _MAX_PENDING:
            self._pending.clear()
        self._pending[id(instance)] = otel_context.get_current()
        return wrapped(*args, **kwargs)

    def adopt(self, wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        ctx = self._pending.pop(id(instance), None)
        if ctx is None or trace.get_current_span().get_span_context().is_valid:
            return wrapped(*args, **kwargs)
        return call_in_context(ctx, wrapped, *args, **kwargs)
