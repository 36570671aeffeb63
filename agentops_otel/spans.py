"""Agent, workflow, operation, task and tool spans by the span contract, for our decorators and
for framework instrumentors alike (LLM spans are :mod:`agentops_otel.genai`'s)."""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from agentops_otel import _config, _content
from agentops_otel import semconv as A
from agentops_otel._ledger import LEDGER

_log = logging.getLogger(__name__)


def stable_id(name: str) -> str:
    """A stable agent id derived from a name (same name, same id across runs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, name))


def describe(
    kind: str, name: str, *, role: str | None = None, agent_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The span name and creation attributes of a ``kind`` span called ``name``."""
    attrs: dict[str, Any] = {A.SPAN_KIND: kind}
    if kind == A.KIND_AGENT:
        agent_id = agent_id or stable_id(name)
        attrs.update(
            {
                A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_AGENT,
                A.GEN_AI_AGENT_NAME: name,
                A.GEN_AI_AGENT_ID: agent_id,
                A.AGENT_NAME: name,
                A.AGENT_ID: agent_id,
            }
        )
        if role:
            attrs[A.AGENT_ROLE] = role
        return f"invoke_agent {name}", attrs
    if kind == A.KIND_WORKFLOW:
        attrs.update({A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_WORKFLOW, A.GEN_AI_WORKFLOW_NAME: name})
        return f"invoke_workflow {name}", attrs
    if kind == A.KIND_TOOL:
        attrs.update(
            {
                A.GEN_AI_OPERATION_NAME: A.OP_EXECUTE_TOOL,
                A.GEN_AI_TOOL_NAME: name,
                A.GEN_AI_TOOL_TYPE: "function",
            }
        )
        return f"execute_tool {name}", attrs
    attrs[A.OPERATION_NAME] = name
    return f"{kind} {name}", attrs


def io_keys(kind: str) -> tuple[str, str]:
    """Where a span of ``kind`` keeps its input and output."""
    if kind == A.KIND_TOOL:
        return A.GEN_AI_TOOL_CALL_ARGUMENTS, A.GEN_AI_TOOL_CALL_RESULT
    return A.INPUT, A.OUTPUT


def start_span(
    tracer: Tracer,
    kind: str,
    name: str,
    *,
    role: str | None = None,
    agent_id: str | None = None,
    attributes: dict[str, Any] | None = None,
    context: Context | None = None,
) -> Span:
    """Start (not activate) a ``kind`` span; identity beneath it is the processor's job."""
    span_name, attrs = describe(kind, name, role=role, agent_id=agent_id)
    if attributes:
        attrs.update((k, v) for k, v in attributes.items() if v is not None)
    return tracer.start_span(span_name, context=context, attributes=attrs)


def record_input(span: Span, kind: str, value: Any) -> None:
    """Record a call's input, bounded and JSON-safe, when content capture is on."""
    if value is not None and _config.current().capture_content:
        key = io_keys(kind)[0]
        span.set_attribute(key, _content.to_json(value, key))


def record_output(span: Span, kind: str, value: Any) -> None:
    """Record a call's output, bounded and JSON-safe, when content capture is on."""
    if value is not None and _config.current().capture_content:
        key = io_keys(kind)[1]
        span.set_attribute(key, _content.to_json(value, key))


def record_error(span: Span, exc: BaseException) -> None:
    """Status ERROR with ``error.type`` and the exception event."""
    span.set_attribute(A.ERROR_TYPE, type(exc).__qualname__)
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, str(exc)[:500]))


def end_span(span: Span, error: BaseException | None = None) -> None:
    """Write roll-ups, record ``error`` if any, and end the span; never raises."""
    try:
        if error is not None:
            record_error(span, error)
        LEDGER.write_rollups(span)
        span.end()
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: ending a span failed", exc_info=True)


Finish = Callable[[Any, "BaseException | None"], None]


def run_in_span(
    ctx: Context, finish: Finish, wrapped: Callable[..., Any], args: tuple, kwargs: dict
) -> Any:
    """Call ``wrapped(*args, **kwargs)`` with ``ctx`` current and ``finish(result, error)`` once
    it is done: at return, or, when it returns a coroutine, generator or async generator, when
    that finishes (each resume runs with ``ctx`` current). For framework instrumentors whose
    methods may hand back lazy results. The user's exceptions pass through unchanged."""
    token = otel_context.attach(ctx)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        _finish_safely(finish, None, exc)
        raise
    finally:
        otel_context.detach(token)
    if inspect.iscoroutine(result):
        return _await_in(ctx, finish, result)
    if inspect.isgenerator(result):
        return _iterate_in(ctx, finish, result)
    if inspect.isasyncgen(result):
        return _aiterate_in(ctx, finish, result)
    _finish_safely(finish, result, None)
    return result


def _finish_safely(finish: Finish, result: Any, error: BaseException | None) -> None:
    try:
        finish(result, error)
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: finishing a span failed", exc_info=True)


async def _await_in(ctx: Context, finish: Finish, coro: Coroutine[Any, Any, Any]) -> Any:
    token = otel_context.attach(ctx)
    try:
        result = await coro
    except BaseException as exc:
        _finish_safely(finish, None, exc)
        raise
    finally:
        otel_context.detach(token)
    _finish_safely(finish, result, None)
    return result


def _iterate_in(ctx: Context, finish: Finish, gen: Generator[Any, Any, Any]) -> Generator:
    error: BaseException | None = None
    result = None
    try:
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = otel_context.attach(ctx)
            try:
                item = gen.throw(thrown) if thrown is not None else gen.send(sent)
            except StopIteration as stop:
                result = stop.value
                return stop.value
            finally:
                otel_context.detach(token)
            thrown = None
            try:
                sent = yield item
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - thrown in by the consumer
                thrown = exc
    except GeneratorExit:  # closed early by the consumer: not an error
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        _finish_safely(finish, result, error)


async def _aiterate_in(ctx: Context, finish: Finish, agen: AsyncGenerator[Any, Any]) -> Any:
    error: BaseException | None = None
    try:
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = otel_context.attach(ctx)
            try:
                item = await (agen.athrow(thrown) if thrown is not None else agen.asend(sent))
            except StopAsyncIteration:
                return
            finally:
                otel_context.detach(token)
            thrown = None
            try:
                sent = yield item
            except GeneratorExit:
                await agen.aclose()
                raise
            except BaseException as exc:  # noqa: BLE001 - thrown in by the consumer
                thrown = exc
    except GeneratorExit:
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        _finish_safely(finish, None, error)


def ender(span: Span, kind: str, output: Callable[[Any], Any] | None = None) -> Finish:
    """A ``finish`` for :func:`run_in_span`: record ``output(result)`` (when given and the call
    succeeded), then :func:`end_span`."""

    def finish(result: Any, error: BaseException | None) -> None:
        if error is None and output is not None:
            try:
                record_output(span, kind, output(result))
            except Exception:  # noqa: BLE001
                _log.debug("agentops-otel: recording an output failed", exc_info=True)
        end_span(span, error)

    return finish


Opener = Callable[[Any, tuple, dict], "tuple[Span, str] | None"]


def span_wrapper(
    open_span: Opener, output: Callable[[Any], Any] | None = None
) -> Callable[[Callable[..., Any], Any, tuple, dict], Any]:
    """A wrapt wrapper for framework instrumentors: ``open_span(instance, args, kwargs)``
    starts the call's span and returns ``(span, kind)`` (None: run the call bare); the call runs
    inside it through :func:`run_in_span`, which ends it with ``output(result)`` recorded. An
    error while opening is contained (debug log) and the call runs bare."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        opened = None
        if is_instrumentation_enabled():
            try:
                opened = open_span(instance, args, kwargs)
            except Exception:  # noqa: BLE001
                _log.debug("agentops-otel: starting a span for %r failed", wrapped, exc_info=True)
        if opened is None:
            return wrapped(*args, **kwargs)
        span, kind = opened
        ctx = trace.set_span_in_context(span)
        return run_in_span(ctx, ender(span, kind, output), wrapped, args, kwargs)

    return wrapper
