"""Carry the OpenTelemetry context into threads and executor jobs: :class:`ThreadingInstrumentor`.

asyncio tasks copy the context by themselves; ``threading.Thread`` and
``ThreadPoolExecutor.submit`` do not, so work handed to them would leave its session. We wrap
``Thread.start``, the method that calls ``run()``, and ``ThreadPoolExecutor.submit``
(stdlib methods, not builtins). ``init()`` turns the instrumentor on once; ``shutdown()`` (or
``ThreadingInstrumentor().uninstrument()``) puts the stdlib methods back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import Tracer

from agentops_otel.instrumentation import Patches, PatchingInstrumentor, call_in_context

_CTX_ATTR = "_agentops_otel_context"


def _start(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    try:
        setattr(instance, _CTX_ATTR, otel_context.get_current())
    except Exception:  # noqa: BLE001 - a Thread subclass with __slots__
        pass
    return wrapped(*args, **kwargs)


def _run(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    ctx = getattr(instance, _CTX_ATTR, None)
    if ctx is None:
        return wrapped(*args, **kwargs)
    return call_in_context(ctx, wrapped, *args, **kwargs)


def _submit(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    if not args:
        return wrapped(*args, **kwargs)
    fn, rest = args[0], args[1:]
    return wrapped(
        functools.partial(call_in_context, otel_context.get_current(), fn), *rest, **kwargs
    )


class ThreadingInstrumentor(PatchingInstrumentor):
    """Context propagation into ``threading.Thread`` and ``ThreadPoolExecutor`` (the core's own
    instrumentor: no library to depend on, no entry point; ``init()`` turns it on)."""

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        patches.wrap("threading", "Thread.start", _start)
        patches.wrap("threading", "Thread._bootstrap_inner", _run)  # runs run(), even overridden
        patches.wrap("concurrent.futures.thread", "ThreadPoolExecutor.submit", _submit)
