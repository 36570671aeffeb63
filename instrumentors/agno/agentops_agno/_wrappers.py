"""The wrappers: agent runs, team runs and tool calls as spans.

Each span is made current while Agno works beneath it (a streamed run keeps it current on every
resume), so the openai SDK spans of the model calls, the tools and the members a team leader
delegates to nest under the run that made them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from agentops_otel import semconv as A
from agentops_otel.instrumentation import Wrapper, one_line
from agentops_otel.spans import (
    end_span,
    ender,
    record_input,
    run_in_span,
    span_wrapper,
    start_span,
)

_log = logging.getLogger(__name__)
_NAME_LIMIT = 80
_DESCRIPTION_LIMIT = 1000
TEAM_LEADER = "team leader"


def _input(args: tuple, kwargs: dict) -> Any:
    """The run's input: text, messages or a dict as given, anything else as its string."""
    value = kwargs.get("input", args[0] if args else None)
    return value if value is None or isinstance(value, (str, list, dict)) else str(value)


def _output(result: Any) -> Any:
    """A ``RunOutput`` / ``TeamRunOutput``'s content (None for streams)."""
    return getattr(result, "content", None)


def _model_id(owner: Any) -> str | None:
    model_id = getattr(getattr(owner, "model", None), "id", None)
    return model_id if isinstance(model_id, str) else None


def _agent_span(
    tracer: Tracer, owner: Any, role: str | None, context: Context | None = None
) -> Span:
    name = one_line(getattr(owner, "name", None), _NAME_LIMIT) or type(owner).__name__
    description = getattr(owner, "description", None)
    attributes = {
        A.GEN_AI_AGENT_DESCRIPTION: one_line(description, _DESCRIPTION_LIMIT) or None,
        A.GEN_AI_REQUEST_MODEL: _model_id(owner),
    }
    return start_span(tracer, A.KIND_AGENT, name, role=role, attributes=attributes, context=context)


def agent_run(tracer: Tracer) -> Wrapper:
    """``Agent.run`` / ``arun`` → ``invoke_agent {name}``, role = the agent's ``role``."""

    def open_span(agent: Any, args: tuple, kwargs: dict) -> tuple[Span, str]:
        role = getattr(agent, "role", None)
        span = _agent_span(tracer, agent, one_line(role, _NAME_LIMIT) if role else None)
        record_input(span, A.KIND_AGENT, _input(args, kwargs))
        return span, A.KIND_AGENT

    return span_wrapper(open_span, _output)


def team_run(tracer: Tracer) -> Wrapper:
    """``Team.run`` / ``arun`` → ``invoke_workflow {team}``, and beneath it the leader, which
    calls the model and delegates, as ``invoke_agent {team}`` with role ``team leader``."""

    def wrapper(wrapped: Callable[..., Any], team: Any, args: tuple, kwargs: dict) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        workflow = None
        try:
            name = one_line(getattr(team, "name", None), _NAME_LIMIT) or "team"
            workflow = start_span(tracer, A.KIND_WORKFLOW, name)
            record_input(workflow, A.KIND_WORKFLOW, _input(args, kwargs))
            role = getattr(team, "role", None)  # a team nested in a team has a role
            leader = _agent_span(
                tracer,
                team,
                one_line(role, _NAME_LIMIT) if role else TEAM_LEADER,
                trace.set_span_in_context(workflow),
            )
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: starting an Agno team span failed", exc_info=True)
            if workflow is not None:
                end_span(workflow)
            return wrapped(*args, **kwargs)
        end_leader = ender(leader, A.KIND_AGENT, _output)
        end_workflow = ender(workflow, A.KIND_WORKFLOW, _output)

        def finish(result: Any, error: BaseException | None) -> None:
            end_leader(result, error)
            end_workflow(result, error)

        ctx = trace.set_span_in_context(leader)
        return run_in_span(ctx, finish, wrapped, args, kwargs)

    return wrapper


def _tool_finish(span: Span, call: Any) -> Callable[[Any, BaseException | None], None]:
    """End the tool span with the outcome; a tool that returned a generator (a team's
    delegation) keeps its span open and current until the generator is consumed."""
    done = ender(span, A.KIND_TOOL, lambda outcome: getattr(outcome, "result", None))
    ctx = trace.set_span_in_context(span)

    def finish(outcome: Any, error: BaseException | None) -> None:
        if error is None and getattr(outcome, "status", None) == "failure":
            span.set_attribute(A.ERROR_TYPE, "ToolCallFailure")
            span.set_status(Status(StatusCode.ERROR, one_line(outcome.error, 500)))
        result = getattr(outcome, "result", None)
        if error is None and (inspect.isgenerator(result) or inspect.isasyncgen(result)):
            lazy = run_in_span(ctx, lambda _r, e: end_span(span, e), lambda: result, (), {})
            outcome.result = lazy
            if call.result is result:
                call.result = lazy
            return
        done(outcome, error)

    return finish


def tool_execute(tracer: Tracer) -> Wrapper:
    """``FunctionCall.execute`` / ``aexecute`` → ``execute_tool {name}`` with call id,
    arguments and result."""

    def wrapper(wrapped: Callable[..., Any], call: Any, args: tuple, kwargs: dict) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        try:
            function = getattr(call, "function", None)
            name = one_line(getattr(function, "name", None), _NAME_LIMIT) or "tool"
            description = getattr(function, "description", None)
            span = start_span(
                tracer,
                A.KIND_TOOL,
                name,
                attributes={
                    A.GEN_AI_TOOL_CALL_ID: getattr(call, "call_id", None),
                    A.GEN_AI_TOOL_DESCRIPTION: one_line(description, _DESCRIPTION_LIMIT) or None,
                },
            )
            record_input(span, A.KIND_TOOL, getattr(call, "arguments", None))
            finish = _tool_finish(span, call)
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: starting an Agno tool span failed", exc_info=True)
            return wrapped(*args, **kwargs)
        return run_in_span(trace.set_span_in_context(span), finish, wrapped, args, kwargs)

    return wrapper
