"""The wrappers: runner, agent and tool spans, and ADK's own tracer standing down.

Each span is made current while ADK works beneath it (runs are async generators; the span is
current on every resume), so the LLM spans of the litellm / openai instrumentors, tools and
sub-agents nest under the agent that made them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, Span, Tracer

from agentops_otel import semconv as A
from agentops_otel.instrumentation import Wrapper, call_arg, one_line
from agentops_otel.spans import record_input, run_in_span, span_wrapper, start_span

_NAME_LIMIT = 80
_DESCRIPTION_LIMIT = 1000


def _message_text(content: Any) -> str | None:
    """The text parts of a ``google.genai.types.Content``."""
    parts = getattr(content, "parts", None) or []
    texts = [p.text for p in parts if isinstance(getattr(p, "text", None), str)]
    return "".join(texts) if texts else None


class Runs:
    """``Runner.run`` / ``run_async`` → ``invoke_workflow {app name}`` with the user's message.

    ``run`` drives ``run_async`` in a thread of its own, which ADK 1.x starts without the
    caller's context: ``run`` opens the span in the caller's thread and leaves its context for
    that runner's ``run_async`` to adopt (one span either way, in the caller's trace).
    """

    _MAX_PENDING = 1024  # a run never iterated leaves its entry behind: keep that bounded

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._pending: dict[int, Context] = {}
        self.run = span_wrapper(self._open_for_thread)
        self._run_async = span_wrapper(self._open)

    def _open(self, runner: Any, _args: tuple, kwargs: dict) -> tuple[Span, str]:
        name = one_line(getattr(runner, "app_name", None), _NAME_LIMIT) or "adk"
        span = start_span(self._tracer, A.KIND_WORKFLOW, name)
        record_input(span, A.KIND_WORKFLOW, _message_text(kwargs.get("new_message")))
        return span, A.KIND_WORKFLOW

    def _open_for_thread(self, runner: Any, args: tuple, kwargs: dict) -> tuple[Span, str]:
        span, kind = self._open(runner, args, kwargs)
        if len(self._pending) >= self._MAX_PENDING:
            self._pending.clear()
        self._pending[id(runner)] = trace.set_span_in_context(span)
        return span, kind

    def run_async(self, wrapped: Callable[..., Any], runner: Any, args: tuple, kwargs: dict) -> Any:
        handed = self._pending.pop(id(runner), None)
        if handed is None:
            return self._run_async(wrapped, runner, args, kwargs)
        return run_in_span(handed, lambda _result, _error: None, wrapped, args, kwargs)


def agent_run(tracer: Tracer) -> Wrapper:
    """``BaseAgent.run_async`` → ``invoke_agent {name}``; role = the description an agent's
    parent reads to transfer to it, else the agent class."""

    def open_span(agent: Any, args: tuple, kwargs: dict) -> tuple[Span, str]:
        name = one_line(getattr(agent, "name", None), _NAME_LIMIT) or type(agent).__name__
        description = getattr(agent, "description", None)
        role = one_line(description, _NAME_LIMIT) if description else type(agent).__name__
        model = getattr(agent, "model", None)
        model = model if isinstance(model, str) else getattr(model, "model", None)
        attributes = {
            A.GEN_AI_AGENT_DESCRIPTION: one_line(description, _DESCRIPTION_LIMIT) or None,
            A.GEN_AI_REQUEST_MODEL: model if isinstance(model, str) and model else None,
        }
        span = start_span(tracer, A.KIND_AGENT, name, role=role, attributes=attributes)
        parent_context = call_arg(args, kwargs, 0, "parent_context")
        record_input(
            span, A.KIND_AGENT, _message_text(getattr(parent_context, "user_content", None))
        )
        return span, A.KIND_AGENT

    return span_wrapper(open_span)


def tool_call(tracer: Tracer) -> Wrapper:
    """The flow's ``_call_tool_async(tool, args, tool_context)`` → ``execute_tool {name}`` with
    call id, arguments and result (``transfer_to_agent`` included: a transfer)."""

    def open_span(_instance: Any, args: tuple, kwargs: dict) -> tuple[Span, str]:
        tool = call_arg(args, kwargs, 0, "tool")
        name = one_line(getattr(tool, "name", None), _NAME_LIMIT) or type(tool).__name__
        tool_context = call_arg(args, kwargs, 2, "tool_context")
        description = getattr(tool, "description", None)
        span = start_span(
            tracer,
            A.KIND_TOOL,
            name,
            attributes={
                A.GEN_AI_TOOL_CALL_ID: getattr(tool_context, "function_call_id", None),
                A.GEN_AI_TOOL_DESCRIPTION: one_line(description, _DESCRIPTION_LIMIT) or None,
            },
        )
        record_input(span, A.KIND_TOOL, call_arg(args, kwargs, 1, "args"))
        return span, A.KIND_TOOL

    return span_wrapper(open_span, lambda result: result)


# ADK's own tracer ("gcp.vertex.agent") stands down: the spans it would start (invocation,
# invoke_agent, call_llm, generate_content, execute_tool…) describe the same work as ours, and
# its generate_content span repeats each model call's usage. In their place it gets a
# placeholder carrying the current span's context, so whatever ADK starts or attaches "under"
# it still nests under our spans, and the attributes ADK sets on it go nowhere.


def _placeholder(context: Context | None) -> Span:
    return NonRecordingSpan(trace.get_current_span(context).get_span_context())


def stand_in_start_span(
    _wrapped: Callable[..., Any], _tracer: Any, args: tuple, kwargs: dict
) -> Span:
    """ADK's ``tracer.start_span(name, context=None, ...)``."""
    return _placeholder(call_arg(args, kwargs, 1, "context"))


def stand_in_current_span(
    _wrapped: Callable[..., Any], _tracer: Any, args: tuple, kwargs: dict
) -> contextlib.AbstractContextManager[Span]:
    """ADK's ``tracer.start_as_current_span(name, context=None, ...)``."""
    return _use(_placeholder(call_arg(args, kwargs, 1, "context")))


@contextlib.contextmanager
def _use(span: Span) -> Iterator[Span]:
    with trace.use_span(
        span, end_on_exit=False, record_exception=False, set_status_on_exception=False
    ):
        yield span
