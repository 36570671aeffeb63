"""Carry the OpenTelemetry context into threads and executor jobs.

asyncio tasks copy the context by themselves; ``threading.Thread`` and
``ThreadPoolExecutor.submit`` do not, so work handed to them would leave its session. We wrap
``Thread.start``, the method that calls ``run()``, and ``ThreadPoolExecutor.submit``
(stdlib methods, not builtins).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context

from agentops_otel.instrumentation import Patches

_patches: Patches | None = None
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
    token = otel_context.attach(ctx)
    try:
        return wrapped(*args, **kwargs)
    finally:
        otel_context.detach(token)


def _submit(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    if not args:
        return wrapped(*args, **kwargs)
    fn, rest = args[0], args[1:]
    ctx = otel_context.get_current()

    def in_context(*a: Any, **k: Any) -> Any:
        token = otel_context.attach(ctx)
        try:
            return fn(*a, **k)
        finally:
            otel_context.detach(token)

    return wrapped(in_context, *rest, **kwargs)


def install() -> None:
    """Start propagating context into threads (idempotent)."""
    global _patches
    if _patches is not None:
        return
    _patches = Patches()
    _patches.wrap("threading", "Thread.start", _start)
    _patches.wrap("threading", "Thread._bootstrap_inner", _run)  # runs run(), even overridden
    _patches.wrap("concurrent.futures.thread", "ThreadPoolExecutor.submit", _submit)


def uninstall() -> None:
    global _patches
    if _patches is not None:
        _patches.restore()
        _patches = None
