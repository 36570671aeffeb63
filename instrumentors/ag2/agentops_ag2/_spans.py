"""Wrapper factories shared by both AG2 lines: run the wrapped call inside one of our spans.

A ``describe(instance, args, kwargs)`` callback says which span to open (or ``None`` for none);
a ``finish(span, result)`` callback records what the call returned. Both run guarded: a failure
in either (a framework upgrade changed a shape) costs the span's details, never the user's call.
The span is current while the framework does the work beneath it, so provider LLM spans and
nested agents and tools become its children; the user's exceptions pass through unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import Token
from typing import Any, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from agentops_otel import semconv as A
from agentops_otel.spans import end_span, record_input, start_span

_log = logging.getLogger(__name__)
_warned: set[str] = set()


class SpanSpec(NamedTuple):
    """What to open: a span of ``kind`` called ``name`` with creation attributes and input."""

    kind: str
    name: str
    role: str | None = None
    attributes: dict[str, Any] | None = None
    input: Any = None


Describe = Callable[[Any, tuple, dict], "SpanSpec | None"]
Finish = Callable[[Span, Any], None]


def contain(what: str) -> None:
    """Log one of our own failures: once at warning level per place, then at debug."""
    level = logging.DEBUG if what in _warned else logging.WARNING
    _warned.add(what)
    _log.log(level, "agentops-otel: AG2 %s failed; the call proceeds", what, exc_info=True)


def mark_failed(span: Span, error_type: str, message: str) -> None:
    """Status ERROR for a failure the framework reports as a value instead of raising."""
    span.set_attribute(A.ERROR_TYPE, error_type)
    span.set_status(Status(StatusCode.ERROR, message[:500]))


class _Opened(NamedTuple):
    span: Span
    token: Token[Context]


def _open(
    tracer: Tracer, describe: Describe, instance: Any, args: tuple, kwargs: dict
) -> _Opened | None:
    try:
        spec = describe(instance, args, kwargs)
        if spec is None:
            return None
        span = start_span(tracer, spec.kind, spec.name, role=spec.role, attributes=spec.attributes)
        record_input(span, spec.kind, spec.input)
        return _Opened(span, otel_context.attach(trace.set_span_in_context(span)))
    except Exception:  # noqa: BLE001
        contain("opening a span")
        return None


def _close(
    opened: _Opened, finish: Finish | None, result: Any = None, error: BaseException | None = None
) -> None:
    try:
        otel_context.detach(opened.token)
    except Exception:  # noqa: BLE001
        pass
    if error is None and finish is not None:
        try:
            finish(opened.span, result)
        except Exception:  # noqa: BLE001
            contain("recording a result")
    end_span(opened.span, error)


def sync_wrapper(tracer: Tracer, describe: Describe, finish: Finish | None = None) -> Any:
    """A wrapt wrapper running a synchronous method inside the span ``describe`` names."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        opened = _open(tracer, describe, instance, args, kwargs)
        if opened is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _close(opened, finish, error=exc)
            raise
        _close(opened, finish, result)
        return result

    return wrapper


def async_wrapper(tracer: Tracer, describe: Describe, finish: Finish | None = None) -> Any:
    """The same for a coroutine method: the span opens and closes inside the awaiting task."""

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        opened = _open(tracer, describe, instance, args, kwargs)
        if opened is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            _close(opened, finish, error=exc)
            raise
        _close(opened, finish, result)
        return result

    return wrapper


def arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    """A call's argument by position or keyword (positions exclude ``self``)."""
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default
