"""The two wrappers: an agent run (``Agent.iter``) and a function tool call.

``Agent.iter`` is an async context manager that every entry point (``run``, ``run_sync``,
``run_stream``, ``run_stream_events``, ``iter`` itself) enters; its wrapper returns a context
manager that opens the agent span on enter, keeps it current while the run's graph works (model
requests, tool calls and nested agents nest beneath it), and ends it on exit with the run's
output. A tool call is ``FunctionToolset.call_tool``, the coroutine that runs the user's function.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from contextvars import Token
from types import FrameType, TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, Tracer

from agentops_otel import semconv as A
from agentops_otel.instrumentation import Wrapper
from agentops_otel.spans import end_span, record_input, record_output, start_span

_log = logging.getLogger(__name__)
# Pydantic AI's control flow, not failures: a tool asking for approval or deferring its call.
_NOT_ERRORS = frozenset({"CallDeferred", "ApprovalRequired"})
_OUR_MODULES = (
    "pydantic_ai",
    "pydantic_graph",
    "agentops_pydantic_ai",
    "wrapt",
    "contextlib",
    "asyncio",
)


def _caller_name(agent: Any) -> str | None:
    """The variable name the calling code keeps ``agent`` under, as Pydantic AI infers an
    unnamed agent's name (it does so inside the run, after our span must exist)."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_OUR_MODULES):
        frame = frame.f_back
    if frame is None:
        return None
    for scope in (frame.f_locals, frame.f_globals):
        for name, item in scope.items():
            if item is agent:
                return name
    return None


def _start_agent(tracer: Tracer, agent: Any, args: tuple, kwargs: dict) -> Span:
    name = getattr(agent, "name", None) or _caller_name(agent) or "agent"
    description = getattr(agent, "description", None)  # Pydantic AI 2.x
    attributes = {A.GEN_AI_AGENT_DESCRIPTION: description if isinstance(description, str) else None}
    span = start_span(tracer, A.KIND_AGENT, str(name), attributes=attributes)
    prompt = kwargs.get("user_prompt", args[0] if args else None)
    record_input(span, A.KIND_AGENT, prompt)
    return span


class _AgentRun:
    """``Agent.iter``'s context manager, entered and exited inside the agent span."""

    __slots__ = ("_cm", "_ctx", "_run", "_span", "_start", "_token")

    def __init__(self, cm: Any, start: Callable[[], Span]) -> None:
        self._cm = cm
        self._start = start
        self._span: Span | None = None
        self._token: Token[Context] | None = None
        self._ctx: Context | None = None
        self._run: Any = None  # the AgentRun Pydantic AI yields: its result is the output

    async def __aenter__(self) -> Any:
        try:
            if is_instrumentation_enabled():
                self._span = self._start()
                self._ctx = trace.set_span_in_context(self._span)
                self._token = otel_context.attach(self._ctx)
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: starting a Pydantic AI agent span failed", exc_info=True)
        try:
            self._run = await self._cm.__aenter__()
        except BaseException as exc:
            self._finish(exc)
            raise
        return self._run

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:
            suppressed = await self._cm.__aexit__(exc_type, exc, tb)
        except BaseException as error:
            self._finish(error)
            raise
        self._finish(None if suppressed else exc)
        return suppressed

    def _finish(self, error: BaseException | None) -> None:
        if self._token is not None:
            if otel_context.get_current() is self._ctx:  # exited where it was entered
                otel_context.detach(self._token)
            self._token = None
        span, self._span = self._span, None
        if span is None:
            return
        if error is None and self._run is not None:
            try:
                result = getattr(self._run, "result", None)
                if result is not None:
                    record_output(span, A.KIND_AGENT, getattr(result, "output", None))
            except Exception:  # noqa: BLE001
                _log.debug("agentops-otel: recording an agent output failed", exc_info=True)
        end_span(
            span, error if error is not None and not isinstance(error, GeneratorExit) else None
        )


def agent_run(tracer: Tracer) -> Wrapper:
    """Wrapper of ``Agent.iter``: the run's context manager inside an agent span."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        cm = wrapped(*args, **kwargs)
        return _AgentRun(cm, lambda: _start_agent(tracer, instance, args, kwargs))

    return wrapper


def _tool_span(tracer: Tracer, name: str, args: Any, ctx: Any, tool: Any) -> tuple[Span, Context]:
    tool_def = getattr(tool, "tool_def", None)
    attributes = {
        A.GEN_AI_TOOL_CALL_ID: getattr(ctx, "tool_call_id", None),
        A.GEN_AI_TOOL_DESCRIPTION: getattr(tool_def, "description", None),
    }
    span = start_span(tracer, A.KIND_TOOL, name, attributes=attributes)
    record_input(span, A.KIND_TOOL, args)
    return span, trace.set_span_in_context(span)


def tool_call(tracer: Tracer) -> Wrapper:
    """Wrapper of ``FunctionToolset.call_tool(name, tool_args, ctx, tool)``: a tool span."""

    async def traced(wrapped: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        opened = None
        try:
            if is_instrumentation_enabled():
                name = kwargs.get("name", args[0] if args else "tool")
                opened = _tool_span(
                    tracer,
                    str(name),
                    kwargs.get("tool_args", args[1] if len(args) > 1 else None),
                    kwargs.get("ctx", args[2] if len(args) > 2 else None),
                    kwargs.get("tool", args[3] if len(args) > 3 else None),
                )
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: starting a Pydantic AI tool span failed", exc_info=True)
        if opened is None:
            return await wrapped(*args, **kwargs)
        span, ctx = opened
        token = otel_context.attach(ctx)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            end_span(span, None if type(exc).__name__ in _NOT_ERRORS else exc)
            raise
        finally:
            otel_context.detach(token)
        record_output(span, A.KIND_TOOL, result)
        end_span(span)
        return result

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        return traced(wrapped, args, kwargs)

    return wrapper
