"""The spans: teams → workflow, agents → agent, tools → tool (model calls are the provider's).

Async generators (``run_stream``, ``on_messages_stream``) get their span on the first step and
have it current only while the framework's code runs a step, never while the consumer holds a
yielded item; the span ends once on exhaustion, error, close or abandonment.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Tracer

from agentops_otel import semconv as A
from agentops_otel.genai import capture_content
from agentops_otel.spans import end_span, record_input, record_output, start_span

_log = logging.getLogger(__name__)

# Name of the agent whose span is current: the other entry points of the same agent invocation
# (run → on_messages → on_messages_stream, a team turn → on_messages_stream) add no second span.
_AGENT: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agentops_autogen_agent", default=None
)
# Set with each attach; resetting it first tells whether we are in the attaching context.
_SCOPE: contextvars.ContextVar[object] = contextvars.ContextVar("agentops_autogen_scope")
_Tokens = tuple[
    contextvars.Token, contextvars.Token | None, contextvars.Token[otel_context.Context]
]
# Our open workflow spans by span id. AgentChat's runtime hands the context to each turn's task
# as a propagated (non-recording) span; the turn's agent span starts under the real one, so the
# identity on it (session, …) carries over.
_WORKFLOWS: dict[int, Span] = {}


def _parent_context() -> otel_context.Context | None:
    """The current context, with a propagated stand-in for one of our workflows resolved."""
    current = trace.get_current_span()
    if current.is_recording():
        return None
    real = _WORKFLOWS.get(current.get_span_context().span_id)
    return trace.set_span_in_context(real) if real is not None else None


def _activate(span: Span, agent: str | None = None) -> _Tokens:
    agent_token = _AGENT.set(agent) if agent is not None else None
    return _SCOPE.set(span), agent_token, otel_context.attach(trace.set_span_in_context(span))


def _deactivate(tokens: _Tokens) -> None:
    """Detach where we attached; a block left in another context leaves that context alone."""
    scope, agent_token, otel_token = tokens
    try:
        _SCOPE.reset(scope)
    except (ValueError, RuntimeError):
        return
    if agent_token is not None:
        _AGENT.reset(agent_token)
    otel_context.detach(otel_token)


def _contained(what: str, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except Exception:  # noqa: BLE001 - our failure is never the user's
        _log.debug("agentops-otel: autogen %s failed", what, exc_info=True)
        return None


def _text(message: Any) -> Any:
    """A chat message as text (``to_text`` in AgentChat 0.7), else as it is."""
    to_text = getattr(message, "to_text", None)
    return to_text() if callable(to_text) else message


def _task_input(task: Any) -> Any:
    if task is None or isinstance(task, str):
        return task
    if isinstance(task, (list, tuple)):
        return [_text(m) for m in task]
    return _text(task)


def _result_output(result: Any) -> dict[str, Any]:
    messages = getattr(result, "messages", None) or ()
    return {
        "stop_reason": getattr(result, "stop_reason", None),
        "last_message": _text(messages[-1]) if messages else None,
    }


async def _traced(
    agen: AsyncIterator[Any],
    start: Callable[[], tuple[Span, str | None]],
    on_item: Callable[[Span, Any], None] | None = None,
    on_end: Callable[[Span], None] | None = None,
) -> AsyncIterator[Any]:
    """Iterate ``agen`` under the span ``start()`` opens (on our failure: untraced)."""
    opened = _contained("starting a span", start)
    if opened is None:
        async for item in agen:
            yield item
        return
    span, agent = opened
    error: BaseException | None = None
    try:
        while True:
            tokens = _activate(span, agent)
            try:
                item = await agen.__anext__()
            except StopAsyncIteration:
                break
            finally:
                _deactivate(tokens)
            if on_item is not None:
                _contained("recording a streamed item", lambda: on_item(span, item))  # noqa: B023
            yield item
    except GeneratorExit:  # the consumer stopped early: close the framework's generator too
        tokens = _activate(span, agent)
        try:
            # typed AsyncIterator; what the framework hands over is an async generator
            await agen.aclose()  # type: ignore[attr-defined]
        finally:
            _deactivate(tokens)
        raise
    except Exception as exc:
        error = exc
        raise
    finally:
        if on_end is not None:
            _contained("recording a stream's end", lambda: on_end(span))
        end_span(span, error)


@contextlib.contextmanager
def _scoped(make: Callable[[], Span], agent: str | None = None) -> Iterator[Span | None]:
    """Our span (``make()``) current over a block: yields it, or None when we could not open
    one; records the block's exception and ends the span."""
    span = _contained("starting a span", make)
    if span is None:
        yield None
        return
    tokens = _activate(span, agent)
    error: BaseException | None = None
    try:
        yield span
    except Exception as exc:
        error = exc
        raise
    finally:
        _deactivate(tokens)
        end_span(span, error)


async def _observed(agen: AsyncIterator[Any], on_item: Callable[[Any], None]) -> AsyncIterator[Any]:
    """``agen`` unchanged, with ``on_item`` shown every item (our failures contained)."""
    async for item in agen:
        _contained("recording a streamed item", lambda: on_item(item))  # noqa: B023
        yield item


class Wrappers:
    """Every wrapper the instrumentor installs, sharing one tracer."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    # -- teams ---------------------------------------------------------------------------
    def team_run_stream(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict
    ) -> Any:
        """``BaseGroupChat.run_stream`` (``run`` goes through it): a workflow span."""

        def start() -> tuple[Span, None]:
            span = start_span(
                self._tracer,
                A.KIND_WORKFLOW,
                getattr(instance, "name", None) or type(instance).__name__,
                context=_parent_context(),
            )
            _WORKFLOWS[span.get_span_context().span_id] = span
            if capture_content():
                record_input(span, A.KIND_WORKFLOW, _task_input(kwargs.get("task")))
            return span, None

        def on_end(span: Span) -> None:
            _WORKFLOWS.pop(span.get_span_context().span_id, None)

        return _traced(wrapped(*args, **kwargs), start, _record_task_result, on_end)

    # -- agents --------------------------------------------------------------------------
    def _agent_span(self, name: str, description: str | None) -> Span:
        attrs = {A.GEN_AI_AGENT_DESCRIPTION: description}
        return start_span(
            self._tracer,
            A.KIND_AGENT,
            name,
            role=description or None,
            attributes=attrs,
            context=_parent_context(),
        )

    def agent_stream(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict
    ) -> Any:
        """``run_stream`` and the agents' ``on_messages_stream``: an agent span, unless this
        agent's span is already current (then its input and output are recorded on that one)."""
        agen = wrapped(*args, **kwargs)
        name = getattr(instance, "name", None)
        if not isinstance(name, str):
            return agen
        messages = kwargs.get("messages", args[0] if args else None)
        if _AGENT.get() == name:
            if not capture_content():
                return agen
            current = trace.get_current_span()
            if messages is not None:
                _contained("recording messages", lambda: _record_messages(current, messages))
            return _observed(agen, lambda item: _record_response(current, item))

        def start() -> tuple[Span, str]:
            span = self._agent_span(name, getattr(instance, "description", None))
            if capture_content():
                if "task" in kwargs:
                    record_input(span, A.KIND_AGENT, _task_input(kwargs.get("task")))
                elif messages is not None:
                    _record_messages(span, messages)
            return span, name

        return _traced(agen, start, _record_response)

    def invoke_agent_span(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict
    ) -> Any:
        """Replaces autogen-core's ``trace_invoke_agent_span`` (``BaseChatAgent.run`` and a
        team's turn): our agent span instead of theirs."""
        name = kwargs.get("agent_name", args[0] if args else None)
        if not isinstance(name, str) or _AGENT.get() == name:
            return stand_in()
        description = kwargs.get("agent_description")
        return _scoped(lambda: self._agent_span(name, description), name)

    # -- tools ---------------------------------------------------------------------------
    def _tool_span(self, name: Any, description: Any, call_id: Any, args: Any = None) -> Span:
        span = start_span(
            self._tracer,
            A.KIND_TOOL,
            str(name),
            attributes={A.GEN_AI_TOOL_DESCRIPTION: description, A.GEN_AI_TOOL_CALL_ID: call_id},
        )
        if capture_content() and args is not None:
            record_input(span, A.KIND_TOOL, dict(args))
        return span

    def run_json(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict
    ) -> Any:
        """``BaseTool.run_json``: a tool span with arguments and result."""
        call_args = kwargs.get("args", args[0] if args else None)
        call_id = kwargs.get("call_id", args[2] if len(args) > 2 else None)

        async def run() -> Any:
            with _scoped(
                lambda: self._tool_span(
                    getattr(instance, "name", "tool"),
                    getattr(instance, "description", None),
                    call_id,
                    call_args,
                )
            ) as span:
                result = await wrapped(*args, **kwargs)
                if span is not None and capture_content():
                    _contained(
                        "recording a tool result", lambda: record_output(span, A.KIND_TOOL, result)
                    )
            return result

        return run()

    def run_json_stream(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict
    ) -> Any:
        """``BaseStreamTool.run_json_stream`` (agents and teams used as tools); the last item
        is the tool's result."""
        call_args = kwargs.get("args", args[0] if args else None)
        call_id = kwargs.get("call_id", args[2] if len(args) > 2 else None)
        last: list[Any] = []

        def start() -> tuple[Span, None]:
            return self._tool_span(
                getattr(instance, "name", "tool"),
                getattr(instance, "description", None),
                call_id,
                call_args,
            ), None

        def on_end(span: Span) -> None:
            if last:
                record_output(span, A.KIND_TOOL, last[0])

        return _traced(
            wrapped(*args, **kwargs),
            start,
            lambda span, item: last.__setitem__(slice(None), [item]),
            on_end,
        )

    def tool_span(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict
    ) -> Any:
        """Replaces ``trace_tool_span`` where a tool runs outside ``run_json`` (MCP)."""
        name = kwargs.get("tool_name", args[0] if args else "tool")
        description, call_id = kwargs.get("tool_description"), kwargs.get("tool_call_id")
        return _scoped(lambda: self._tool_span(name, description, call_id))


@contextlib.contextmanager
def stand_in(*args: Any, **kwargs: Any) -> Iterator[Span]:
    """Replaces autogen-core's span helpers where ours already cover the work: no span."""
    yield trace.get_current_span()


def stand_in_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    return stand_in()


def _record_messages(span: Span, messages: Any) -> None:
    record_input(span, A.KIND_AGENT, [_text(m) for m in messages])


def _record_response(span: Span, item: Any) -> None:
    """The final ``Response`` (``on_messages_stream``) or ``TaskResult`` (``run_stream``)."""
    if not capture_content():
        return
    chat_message = getattr(item, "chat_message", None)
    if chat_message is not None:
        record_output(span, A.KIND_AGENT, _text(chat_message))
    elif hasattr(item, "stop_reason") and hasattr(item, "messages"):
        record_output(span, A.KIND_AGENT, _result_output(item)["last_message"])


def _record_task_result(span: Span, item: Any) -> None:
    if capture_content() and hasattr(item, "stop_reason") and hasattr(item, "messages"):
        record_output(span, A.KIND_WORKFLOW, _result_output(item))
