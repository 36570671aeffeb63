"""The wrappers: agent runs, steps, planning and tools as spans, and the context carried into
the thread smolagents runs generated code in.

Each span is made current while smolagents works beneath it (a run or step that hands back a
generator keeps it current on every resume), so the openai SDK spans of the model calls, the
tools the code calls and the managed agents it delegates to nest under the step that made them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import Span, Tracer

from agentops_otel import semconv as A
from agentops_otel.instrumentation import Wrapper, call_arg, call_in_context, one_line
from agentops_otel.spans import record_input, span_wrapper, start_span

_NAME_LIMIT = 80
_DESCRIPTION_LIMIT = 1000


def _run_output(result: Any) -> Any:
    """The final answer: ``RunResult.output``, else the value."""
    return getattr(result, "output", result) if type(result).__name__ == "RunResult" else result


def agent_run(tracer: Tracer) -> Wrapper:
    """``MultiStepAgent.run`` → ``invoke_agent {name}``; role = the description a manager reads
    (else the agent class)."""

    def open_span(agent: Any, args: tuple, kwargs: dict) -> tuple[Span, str]:
        name = one_line(getattr(agent, "name", None), _NAME_LIMIT) or type(agent).__name__
        description = getattr(agent, "description", None)
        role = one_line(description, _NAME_LIMIT) if description else type(agent).__name__
        model = getattr(getattr(agent, "model", None), "model_id", None)
        attributes = {
            A.GEN_AI_AGENT_DESCRIPTION: one_line(description, _DESCRIPTION_LIMIT) or None,
            A.GEN_AI_REQUEST_MODEL: model if isinstance(model, str) else None,
        }
        span = start_span(tracer, A.KIND_AGENT, name, role=role, attributes=attributes)
        record_input(span, A.KIND_AGENT, call_arg(args, kwargs, 0, "task"))
        return span, A.KIND_AGENT

    return span_wrapper(open_span, _run_output)


def step(tracer: Tracer) -> Wrapper:
    """An action step (``step`` / ``_step_stream``) → ``operation step {n}``."""

    def open_span(_agent: Any, args: tuple, kwargs: dict) -> tuple[Span, str]:
        number = getattr(call_arg(args, kwargs, 0, "memory_step"), "step_number", None)
        name = f"step {number}" if number is not None else "step"
        return start_span(tracer, A.KIND_OPERATION, name), A.KIND_OPERATION

    return span_wrapper(open_span)


def planning(tracer: Tracer) -> Wrapper:
    """A planning step (``planning_step``, ``_generate_planning_step``) → ``operation
    planning``."""

    def open_span(_agent: Any, _args: tuple, _kwargs: dict) -> tuple[Span, str]:
        return start_span(tracer, A.KIND_OPERATION, "planning"), A.KIND_OPERATION

    return span_wrapper(open_span)


def tool_call(tracer: Tracer) -> Wrapper:
    """``Tool.__call__`` → ``execute_tool {name}`` with the arguments and result."""

    def open_span(tool: Any, args: tuple, kwargs: dict) -> tuple[Span, str]:
        name = one_line(getattr(tool, "name", None), _NAME_LIMIT) or type(tool).__name__
        description = getattr(tool, "description", None)
        attributes = {A.GEN_AI_TOOL_DESCRIPTION: one_line(description, _DESCRIPTION_LIMIT) or None}
        span = start_span(tracer, A.KIND_TOOL, name, attributes=attributes)
        arguments = {k: v for k, v in kwargs.items() if k != "sanitize_inputs_outputs"}
        record_input(span, A.KIND_TOOL, {"args": list(args), **arguments} if args else arguments)
        return span, A.KIND_TOOL

    return span_wrapper(open_span, lambda result: result)


def code_timeout(wrapped: Callable[..., Any], _instance: Any, args: tuple, kwargs: dict) -> Any:
    """``local_python_executor.timeout(seconds)`` runs the generated code in a fresh thread
    without the caller's context: hand the context in, so tools and managed agents the code
    calls stay in the step's trace."""
    decorate = wrapped(*args, **kwargs)

    def carrying(func: Callable[..., Any]) -> Any:
        ctx = otel_context.get_current()

        def in_context(*a: Any, **kw: Any) -> Any:
            return call_in_context(ctx, func, *a, **kw)

        return decorate(in_context)

    return carrying
