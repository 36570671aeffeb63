"""Decorators that open agent, workflow, operation, task and tool spans around user code.

Each works bare (``@agent``) or called (``@agent(name="triage")``), on sync and async functions,
generators and async generators; ``agent`` also on classes. Around every call (or every step of
a generator) the span is made current and the caller's context is restored afterwards, so the
context after a decorated call is exactly what it was before.
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Callable
from contextvars import Token
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from agentops_otel import _config, _tracer, spans
from agentops_otel import semconv as A

_log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
_INSTANCE_KEY = otel_context.create_key("agentops-agent-instance")


class _SpanSpec:
    """How to name and describe one kind of span."""

    __slots__ = ("attributes", "kind", "name")

    def __init__(
        self, kind: str, name: str, role: str | None = None, agent_id: str | None = None
    ) -> None:
        self.kind = kind
        self.name, self.attributes = spans.describe(kind, name, role=role, agent_id=agent_id)


def _inputs(skip_first: bool, args: tuple, kwargs: dict) -> Any:
    if args and skip_first:
        args = args[1:]
    if not kwargs:
        return list(args)
    return {"args": list(args), "kwargs": kwargs}


def _is_method(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] in ("self", "cls")


class _Run:
    """One decorated call: its span and the context it runs in."""

    __slots__ = ("ctx", "span", "spec")

    def __init__(
        self,
        spec: _SpanSpec,
        skip_first: bool,
        args: tuple,
        kwargs: dict,
        extra_ctx: dict[Any, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.span = _tracer.tracer().start_span(spec.name, attributes=spec.attributes)
        ctx = trace.set_span_in_context(self.span)
        for key, value in (extra_ctx or {}).items():
            ctx = otel_context.set_value(key, value, ctx)
        self.ctx = ctx
        if (args or kwargs) and _config.current().capture_content:
            spans.record_input(self.span, spec.kind, _inputs(skip_first, args, kwargs))

    def output(self, value: Any) -> None:
        spans.record_output(self.span, self.spec.kind, value)

    def error(self, exc: BaseException) -> None:
        spans.record_error(self.span, exc)

    def end(self) -> None:
        spans.end_span(self.span)


def _begin(
    spec: _SpanSpec,
    skip_first: bool,
    args: tuple,
    kwargs: dict,
    extra_ctx: dict[Any, Any] | None = None,
) -> _Run | None:
    try:
        return _Run(spec, skip_first, args, kwargs, extra_ctx)
    except Exception:  # noqa: BLE001 - the user's call goes on without a span
        _log.debug("agentops-otel: could not start a span", exc_info=True)
        return None


def _safe(action: Callable[..., None], *args: Any) -> None:
    try:
        action(*args)
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: span bookkeeping failed", exc_info=True)


def _wrap(
    fn: Callable[..., Any],
    spec_for: Callable[[tuple], _SpanSpec],
    skip: Callable[[tuple], dict[Any, Any] | None] | None = None,
) -> Callable[..., Any]:
    """Wrap ``fn`` so each call runs in a span made by ``spec_for(args)``.

    ``skip(args)`` returns ``None`` to run the call bare (used by class agents for calls an
    instance makes into itself), else extra context values for the call.
    """

    skip_first = _is_method(fn)  # don't record ``self`` / ``cls`` as an input

    def begin(args: tuple, kwargs: dict) -> _Run | None:
        extra: dict[Any, Any] | None = {}
        if skip is not None:
            extra = skip(args)
            if extra is None:
                return None
        try:
            spec = spec_for(args)
        except Exception:  # noqa: BLE001
            return None
        return _begin(spec, skip_first, args, kwargs, extra)

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def async_gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            run = begin(args, kwargs)
            if run is None:
                async for item in fn(*args, **kwargs):
                    yield item
                return
            try:
                agen = fn(*args, **kwargs)
                sent: Any = None
                thrown: BaseException | None = None
                while True:
                    token = otel_context.attach(run.ctx)
                    try:
                        if thrown is not None:
                            item = await agen.athrow(thrown)
                        else:
                            item = await agen.asend(sent)
                    except StopAsyncIteration:
                        break
                    except BaseException as exc:
                        _safe(run.error, exc)
                        raise
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
            finally:
                _safe(run.end)

        return async_gen_wrapper

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            run = begin(args, kwargs)
            if run is None:
                return (yield from fn(*args, **kwargs))
            try:
                gen = fn(*args, **kwargs)
                sent: Any = None
                thrown: BaseException | None = None
                while True:
                    token = otel_context.attach(run.ctx)
                    try:
                        if thrown is not None:
                            item = gen.throw(thrown)
                        else:
                            item = gen.send(sent)
                    except StopIteration as stop:
                        _safe(run.output, stop.value)
                        return stop.value
                    except BaseException as exc:
                        _safe(run.error, exc)
                        raise
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
            finally:
                _safe(run.end)

        return gen_wrapper

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            run = begin(args, kwargs)
            if run is None:
                return await fn(*args, **kwargs)
            token = otel_context.attach(run.ctx)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                _failed(run, token, exc)
                raise
            return _returned(run, token, result)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = begin(args, kwargs)
        if run is None:
            return fn(*args, **kwargs)
        token = otel_context.attach(run.ctx)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _failed(run, token, exc)
            raise
        return _returned(run, token, result)

    return wrapper


def _failed(run: _Run, token: Token[Context], exc: BaseException) -> None:
    otel_context.detach(token)
    _safe(run.error, exc)
    _safe(run.end)


def _returned(run: _Run, token: Token[Context], result: Any) -> Any:
    otel_context.detach(token)
    _safe(run.output, result)
    _safe(run.end)
    return result


def _function_decorator(
    kind: str, target: Callable[..., Any] | None, name: str | None, role: str | None = None
) -> Any:
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if kind == A.KIND_AGENT and inspect.isclass(fn):
            return _agent_class(fn, name or fn.__name__, role)
        spec = _SpanSpec(kind, name or str(getattr(fn, "__name__", kind)), role)
        return _wrap(fn, lambda _args: spec)

    return decorate(target) if target is not None else decorate


def _agent_class(cls: type, name: str, role: str | None) -> type:
    """Run each outside call into an instance in one agent span carrying the instance's id."""

    def agent_id(instance: Any) -> str:
        try:
            found = instance.__dict__.get("_agentops_agent_id")
            if found is None:
                found = instance.__dict__["_agentops_agent_id"] = uuid.uuid4().hex
            return found
        except Exception:  # noqa: BLE001 - no __dict__ (slots)
            return f"{name}-{id(instance):x}"

    def spec_for(args: tuple) -> _SpanSpec:
        return _SpanSpec(A.KIND_AGENT, name, role, agent_id(args[0]))

    def skip(args: tuple) -> dict[Any, Any] | None:
        if not args:
            return {}
        if otel_context.get_value(_INSTANCE_KEY) is args[0]:
            return None
        return {_INSTANCE_KEY: args[0]}

    for attr, member in list(vars(cls).items()):
        if isinstance(member, (staticmethod, classmethod, property)) or not callable(member):
            continue
        if attr.startswith("_") and attr != "__call__":
            continue
        setattr(cls, attr, _wrap(member, spec_for, skip))
    return cls


@overload
def agent(target: F) -> F: ...
@overload
def agent(
    target: None = None, *, name: str | None = None, role: str | None = None
) -> Callable[[F], F]: ...
def agent(target: Any = None, *, name: str | None = None, role: str | None = None) -> Any:
    """An agent span (``invoke_agent {name}``) around a function, or around each outside call
    into instances of a class; its name, role and id are carried by every span beneath."""
    return _function_decorator(A.KIND_AGENT, target, name, role)


def workflow(target: Any = None, *, name: str | None = None) -> Any:
    """A workflow span (``invoke_workflow {name}``), e.g. around a pipeline of agents."""
    return _function_decorator(A.KIND_WORKFLOW, target, name)


def operation(target: Any = None, *, name: str | None = None) -> Any:
    """An operation span (``operation {name}``): one step of an agent's work."""
    return _function_decorator(A.KIND_OPERATION, target, name)


def task(target: Any = None, *, name: str | None = None) -> Any:
    """A task span (``task {name}``)."""
    return _function_decorator(A.KIND_TASK, target, name)


def tool(target: Any = None, *, name: str | None = None) -> Any:
    """A tool span (``execute_tool {name}``) with the call's arguments and result."""
    return _function_decorator(A.KIND_TOOL, target, name)
