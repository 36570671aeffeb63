"""Agent, workflow, operation, task and tool spans by the span contract, for our decorators and
for framework instrumentors alike (LLM spans are :mod:`agentops_otel.genai`'s)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from agentops_otel import _config, _content
from agentops_otel import semconv as A
from agentops_otel.processor import write_rollups

_log = logging.getLogger(__name__)


def stable_id(name: str) -> str:
    """A stable agent id derived from a name (same name, same id across runs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, name))


def describe(kind: str, name: str, *, role: str | None = None,
             agent_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """The span name and creation attributes of a ``kind`` span called ``name``."""
    attrs: dict[str, Any] = {A.SPAN_KIND: kind}
    if kind == A.KIND_AGENT:
        agent_id = agent_id or stable_id(name)
        attrs.update({
            A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_AGENT,
            A.GEN_AI_AGENT_NAME: name,
            A.GEN_AI_AGENT_ID: agent_id,
            A.AGENT_NAME: name,
            A.AGENT_ID: agent_id,
        })
        if role:
            attrs[A.AGENT_ROLE] = role
        return f"invoke_agent {name}", attrs
    if kind == A.KIND_WORKFLOW:
        attrs.update({A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_WORKFLOW, A.GEN_AI_WORKFLOW_NAME: name})
        return f"invoke_workflow {name}", attrs
    if kind == A.KIND_TOOL:
        attrs.update({A.GEN_AI_OPERATION_NAME: A.OP_EXECUTE_TOOL, A.GEN_AI_TOOL_NAME: name,
                      A.GEN_AI_TOOL_TYPE: "function"})
        return f"execute_tool {name}", attrs
    attrs[A.OPERATION_NAME] = name
    return f"{kind} {name}", attrs


def io_keys(kind: str) -> tuple[str, str]:
    """Where a span of ``kind`` keeps its input and output."""
    if kind == A.KIND_TOOL:
        return A.GEN_AI_TOOL_CALL_ARGUMENTS, A.GEN_AI_TOOL_CALL_RESULT
    return A.INPUT, A.OUTPUT


def start_span(tracer: Tracer, kind: str, name: str, *, role: str | None = None,
               agent_id: str | None = None, attributes: dict[str, Any] | None = None,
               context: Context | None = None) -> Span:
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
        write_rollups(span)
        span.end()
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: ending a span failed", exc_info=True)
