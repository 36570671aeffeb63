"""One wrapper shape for every CrewAI method we trace: crew, agent, task and tool spans.

A wrapper opens the span, makes it current while CrewAI does the work beneath it (so provider
LLM spans, tools and delegated agents nest under it), and ends it through ``end_span``. Methods
that return a coroutine (``akickoff``, ``aexecute_task``, ``arun``, ``Agent.kickoff`` inside a
Flow) keep the span open and current until the coroutine finishes.

The same CrewAI object re-entering its own traced method in the same context (``kickoff_async``
calling ``kickoff``, ``Tool.run`` under ``BaseTool.run``, an agent's retry re-entering
``execute_task``) opens no second span: the ids of the objects whose spans are current ride in
the OTel context.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple, cast

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, Tracer

from agentops_otel import semconv as A
from agentops_otel.instrumentation import Wrapper
from agentops_otel.spans import end_span, record_input, record_output, start_span

_log = logging.getLogger(__name__)
_ACTIVE = otel_context.create_key("agentops-crewai-active")
_NAME_LIMIT = 80
_DESCRIPTION_LIMIT = 1000


class _Start(NamedTuple):
    """What a span needs at creation: name, agent role/id, attributes and the call's input."""

    name: str
    attributes: dict[str, Any]
    input: Any = None
    role: str | None = None
    agent_id: str | None = None


class Spec(NamedTuple):
    """How to trace one kind of CrewAI call."""

    kind: str
    describe: Callable[[Any, tuple, dict], _Start]
    identity: Callable[[Any], Any] = lambda instance: instance
    skip: Callable[[Any], bool] = lambda instance: False


def _text(value: Any, limit: int) -> str:
    """``value`` as one trimmed line of at most ``limit`` characters."""
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _arg(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    return kwargs[name] if name in kwargs else (args[index] if len(args) > index else None)


def _crew(crew: Any, args: tuple, kwargs: dict) -> _Start:
    name = _text(getattr(crew, "name", None), _NAME_LIMIT) or "crew"
    return _Start(name, {}, _arg(args, kwargs, 0, "inputs"))


def _agent_start(agent: Any, value: Any) -> _Start:
    role = _text(getattr(agent, "role", None), _NAME_LIMIT) or "agent"
    goal = getattr(agent, "goal", None)
    attributes = {A.GEN_AI_AGENT_DESCRIPTION: _text(goal, _DESCRIPTION_LIMIT) if goal else None}
    key = getattr(agent, "key", None)  # md5 of role, goal and backstory: stable across runs
    agent_id = key if isinstance(key, str) else None
    return _Start(role, attributes, value, role=role, agent_id=agent_id)


def _agent_task(agent: Any, args: tuple, kwargs: dict) -> _Start:
    task = _arg(args, kwargs, 0, "task")
    value = {
        "task": getattr(task, "description", None),
        "context": _arg(args, kwargs, 1, "context"),
    }
    return _agent_start(agent, value)


def _agent_messages(agent: Any, args: tuple, kwargs: dict) -> _Start:
    return _agent_start(agent, _arg(args, kwargs, 0, "messages"))


def _task(task: Any, args: tuple, kwargs: dict) -> _Start:
    name = _text(getattr(task, "name", None) or getattr(task, "description", None), _NAME_LIMIT)
    value = {
        "description": getattr(task, "description", None),
        "expected_output": getattr(task, "expected_output", None),
    }
    return _Start(name or "task", {}, value)


def _tool_start(tool: Any, value: Any) -> _Start:
    name = _text(getattr(tool, "name", None), _NAME_LIMIT) or type(tool).__name__
    description = getattr(tool, "description", None)
    attributes = {
        A.GEN_AI_TOOL_DESCRIPTION: _text(description, _DESCRIPTION_LIMIT) if description else None
    }
    return _Start(name, attributes, value)


def _tool_run(tool: Any, args: tuple, kwargs: dict) -> _Start:
    return _tool_start(tool, kwargs if not args else {"args": list(args), **kwargs})


def _tool_invoke(tool: Any, args: tuple, kwargs: dict) -> _Start:
    return _tool_start(tool, _arg(args, kwargs, 0, "input"))


CREW = Spec(A.KIND_WORKFLOW, _crew, skip=lambda crew: getattr(crew, "stream", False) is True)
AGENT_TASK = Spec(A.KIND_AGENT, _agent_task)
AGENT_KICKOFF = Spec(A.KIND_AGENT, _agent_messages)
TASK = Spec(A.KIND_TASK, _task)
TOOL_RUN = Spec(A.KIND_TOOL, _tool_run)
# A CrewStructuredTool made from a BaseTool is the same tool: one span, not two.
TOOL_INVOKE = Spec(
    A.KIND_TOOL, _tool_invoke, identity=lambda tool: getattr(tool, "_original_tool", None) or tool
)


def _output(result: Any) -> Any:
    """The text CrewAI's output objects carry (``CrewOutput``, ``TaskOutput``), else the value."""
    raw = getattr(result, "raw", None)
    return raw if isinstance(raw, str) else result


def _open(
    tracer: Tracer, spec: Spec, instance: Any, args: tuple, kwargs: dict
) -> tuple[Span, Context] | None:
    """Start the span and build the context it runs in; None to run the call bare."""
    try:
        if not is_instrumentation_enabled() or spec.skip(instance):
            return None
        active = cast("frozenset[int]", otel_context.get_value(_ACTIVE) or frozenset())
        ident = id(spec.identity(instance))
        if ident in active:
            return None
        start = spec.describe(instance, args, kwargs)
        span = start_span(
            tracer,
            spec.kind,
            start.name,
            role=start.role,
            agent_id=start.agent_id,
            attributes=start.attributes,
        )
        record_input(span, spec.kind, start.input)
        ctx = otel_context.set_value(_ACTIVE, active | {ident}, trace.set_span_in_context(span))
        return span, ctx
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: starting a CrewAI %s span failed", spec.kind, exc_info=True)
        return None


def _finish(span: Span, spec: Spec, result: Any = None, error: BaseException | None = None) -> None:
    if error is None:
        try:
            record_output(span, spec.kind, _output(result))
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: recording a CrewAI output failed", exc_info=True)
    end_span(span, error)


async def _finish_later(
    coro: Coroutine[Any, Any, Any], span: Span, ctx: Context, spec: Spec
) -> Any:
    """Await ``coro`` with the span current, then end the span."""
    token = otel_context.attach(ctx)
    try:
        result = await coro
    except BaseException as exc:
        _finish(span, spec, error=exc)
        raise
    finally:
        otel_context.detach(token)
    _finish(span, spec, result)
    return result


def traced(tracer: Tracer, spec: Spec) -> Wrapper:
    """A wrapt wrapper that runs the call inside a ``spec.kind`` span."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        opened = _open(tracer, spec, instance, args, kwargs)
        if opened is None:
            return wrapped(*args, **kwargs)
        span, ctx = opened
        token = otel_context.attach(ctx)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _finish(span, spec, error=exc)
            raise
        finally:
            otel_context.detach(token)
        if isinstance(result, Coroutine):
            return _finish_later(result, span, ctx, spec)
        _finish(span, spec, result)
        return result

    return wrapper
