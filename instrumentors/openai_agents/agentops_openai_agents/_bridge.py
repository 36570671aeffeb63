"""The ``TracingProcessor`` that turns the Agents SDK's traces and spans into our OTel spans.

The SDK calls a processor synchronously, in the context that does the work, when a trace or span
starts and ends. We start the matching OTel span under the OTel span of the SDK parent (so the
tree holds whatever task the SDK runs a step in) and make it current in that context until the
SDK span ends, so the provider instrumentor's LLM spans and nested runs land beneath it.

Mapping: trace → workflow span; agent → agent span; function → tool span; guardrail →
operation span ``guardrail {name}``; custom and MCP list-tools → operation spans; handoff → an
``agentops.handoff`` event on the handing-off agent's span. Task, turn, response, generation,
speech and transcription spans get no span of their own (their children attach to the nearest
mapped ancestor): the model request they describe is the openai SDK call beneath them, which the
provider instrumentor records as the one counted LLM span.
"""

from __future__ import annotations

import contextvars
import json
import logging
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from agentops_otel import semconv as A
from agentops_otel.genai import capture_content
from agentops_otel.spans import end_span, record_input, record_output, start_span

_log = logging.getLogger(__name__)

# Agent name → role for the agents of the runs in progress (set by the runner wrapper).
ROLES: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "agentops_openai_agents_roles", default=None
)
# Set alongside each OTel attach; resetting it first tells whether we are in the attaching context.
_SCOPE: contextvars.ContextVar[object] = contextvars.ContextVar("agentops_openai_agents_scope")
_Tokens = tuple[contextvars.Token, contextvars.Token[otel_context.Context]]  # scope, context


class _Entry:
    """Our span for one SDK trace or span, and the tokens that made it current."""

    __slots__ = ("kind", "span", "tokens")

    def __init__(self, span: Span, kind: str | None, tokens: _Tokens | None) -> None:
        self.span = span
        self.kind = kind  # None: an alias of an ancestor's span (nothing to end)
        self.tokens = tokens


def _activate(span: Span) -> _Tokens:
    return _SCOPE.set(span), otel_context.attach(trace.set_span_in_context(span))


def _deactivate(tokens: _Tokens) -> None:
    """Detach where we attached; a span ended in another context leaves that context alone."""
    scope, otel_token = tokens
    try:
        _SCOPE.reset(scope)
    except (ValueError, RuntimeError):
        return
    otel_context.detach(otel_token)


def _json_or_text(value: Any) -> Any:
    """Function arguments and results arrive as JSON text; keep them structured when they are."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


class Bridge:
    """The processor we register with the SDK's trace provider (``agents.tracing``)."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._entries: dict[str, _Entry] = {}
        self.enabled = True
        self._failed = False

    # -- TracingProcessor ----------------------------------------------------------------
    def on_trace_start(self, sdk_trace: Any) -> None:
        if self.enabled:
            self._guard(self._trace_start, sdk_trace)

    def on_trace_end(self, sdk_trace: Any) -> None:
        self._guard(self._finish, sdk_trace.trace_id, None)

    def on_span_start(self, sdk_span: Any) -> None:
        if self.enabled:
            self._guard(self._span_start, sdk_span)

    def on_span_end(self, sdk_span: Any) -> None:
        self._guard(self._span_end, sdk_span)

    def shutdown(self) -> None:
        """Nothing buffered here: our spans go to the OTel provider's own pipeline."""

    def force_flush(self) -> None:
        """Nothing buffered here."""

    # -- mapping -------------------------------------------------------------------------
    def _guard(self, step: Any, *args: Any) -> None:
        try:
            step(*args)
        except Exception:  # noqa: BLE001 - never the SDK's problem
            _log.log(
                logging.DEBUG if self._failed else logging.WARNING,
                "agentops-otel: bridging an openai-agents span failed",
                exc_info=True,
            )
            self._failed = True

    def _trace_start(self, sdk_trace: Any) -> None:
        attrs = {A.GEN_AI_CONVERSATION_ID: getattr(sdk_trace, "group_id", None)}
        span = start_span(
            self._tracer, A.KIND_WORKFLOW, sdk_trace.name or "Agent workflow", attributes=attrs
        )
        self._entries[sdk_trace.trace_id] = _Entry(span, A.KIND_WORKFLOW, _activate(span))

    def _parent(self, sdk_span: Any) -> _Entry | None:
        entries = self._entries
        return entries.get(sdk_span.parent_id or "") or entries.get(sdk_span.trace_id)

    def _span_start(self, sdk_span: Any) -> None:
        data = sdk_span.span_data
        kind_name = _describe(data)
        parent = self._parent(sdk_span)
        if kind_name is None:
            if parent is not None:  # transparent: its children hang under our nearest span
                self._entries[sdk_span.span_id] = _Entry(parent.span, None, None)
            return
        kind, name = kind_name
        ctx = trace.set_span_in_context(parent.span) if parent is not None else None
        roles = ROLES.get() if kind == A.KIND_AGENT else None
        role = roles.get(name) if roles else None
        span = start_span(self._tracer, kind, name, role=role, context=ctx)
        self._entries[sdk_span.span_id] = _Entry(span, kind, _activate(span))

    def _span_end(self, sdk_span: Any) -> None:
        try:
            data = sdk_span.span_data
            entry = self._entries.get(sdk_span.span_id)
            if entry is not None and entry.kind is not None:
                _record_end(entry.span, entry.kind, data)
            elif data.type == "handoff":
                self._handoff(sdk_span, data)
        finally:  # whatever we failed to record, the span ends and leaves the context
            self._finish(sdk_span.span_id, sdk_span.error)

    def _handoff(self, sdk_span: Any, data: Any) -> None:
        parent = self._parent(sdk_span)
        if parent is None:
            return
        attrs = {A.HANDOFF_FROM_AGENT: data.from_agent, A.HANDOFF_TO_AGENT: data.to_agent}
        if sdk_span.error:
            attrs[A.ERROR_TYPE] = _error_type(sdk_span.error)
        parent.span.add_event(A.EVENT_HANDOFF, {k: v for k, v in attrs.items() if v})

    def _finish(self, key: str, error: Any) -> None:
        entry = self._entries.pop(key, None)
        if entry is None or entry.kind is None:
            return
        if entry.tokens is not None:
            _deactivate(entry.tokens)
        if error:
            entry.span.set_attribute(A.ERROR_TYPE, _error_type(error))
            entry.span.set_status(Status(StatusCode.ERROR, _error_text(error)))
        end_span(entry.span)


def _describe(data: Any) -> tuple[str, str] | None:
    """(kind, name) of our span for an SDK span, or None when it gets none."""
    kind = data.type
    if kind == "agent":
        return A.KIND_AGENT, data.name
    if kind == "function":
        return A.KIND_TOOL, data.name
    if kind == "guardrail":
        return A.KIND_OPERATION, f"guardrail {data.name}"
    if kind == "custom":
        return A.KIND_OPERATION, data.name
    if kind == "mcp_tools":
        server = data.server
        return A.KIND_OPERATION, f"mcp_list_tools {server}" if server else "mcp_list_tools"
    return None


def _record_end(span: Span, kind: str, data: Any) -> None:
    """What the SDK knows only at the end: results, the guardrail verdict, custom data."""
    sdk_kind = data.type
    if sdk_kind == "guardrail":
        span.set_attribute(A.GUARDRAIL_TRIGGERED, bool(data.triggered))
    elif not capture_content():
        return
    elif sdk_kind == "function":  # the SDK fills in the arguments after the span starts
        record_input(span, kind, _json_or_text(data.input))
        record_output(span, kind, _json_or_text(data.output))
    elif sdk_kind == "custom":
        record_output(span, kind, data.data)
    elif sdk_kind == "mcp_tools":
        record_output(span, kind, data.result)


def _error_type(error: Any) -> str:
    """The SDK's error messages are a small fixed set ("Error running tool", …)."""
    message = error.get("message") if isinstance(error, dict) else None
    return str(message or "_OTHER")[:100]


def _error_text(error: Any) -> str:
    """The status description: the SDK's message and, when it has one, the error's text."""
    if not isinstance(error, dict):
        return str(error)[:500]
    data = error.get("data")
    detail = data.get("error") if isinstance(data, dict) else None
    text = f"{error.get('message')}: {detail}" if detail else str(error.get("message"))
    return text[:500]
