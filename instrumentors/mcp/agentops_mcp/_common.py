"""What the client and server sides share: describing a request, the trace context carried in
``params._meta`` (SEP-414), and one span-plus-duration for one request."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from agentops_otel import semconv as A
from agentops_otel.genai import capture_content, contain, record_duration
from agentops_otel.spans import end_span, record_input, record_output

# The keys SEP-414 reserves in ``params._meta`` for W3C trace context and baggage.
_CONTEXT_KEYS = ("traceparent", "tracestate", "baggage")
_MAX_HEADER = 8192  # longer values are not trace context; ignore them
_NAMED_METHODS = {"tools/call": A.GEN_AI_TOOL_NAME, "prompts/get": A.GEN_AI_PROMPT_NAME}
_RESOURCE_METHODS = frozenset({"resources/read", "resources/subscribe", "resources/unsubscribe"})
# Metric dimensions: the low-cardinality attributes of the span.
_METRIC_KEYS = (
    A.MCP_METHOD_NAME,
    A.GEN_AI_TOOL_NAME,
    A.GEN_AI_PROMPT_NAME,
    A.MCP_PROTOCOL_VERSION,
    A.NETWORK_TRANSPORT,
    A.NETWORK_PROTOCOL_NAME,
    A.ERROR_TYPE,
    A.RPC_RESPONSE_STATUS_CODE,
)


def describe(request: Any) -> tuple[str, dict[str, Any], Any]:
    """Span name, attributes and tool arguments (or ``None``) of an MCP request model."""
    method = str(getattr(request, "method", None) or "unknown")
    params: Any = getattr(request, "params", None)
    attrs: dict[str, Any] = {A.MCP_METHOD_NAME: method}
    name = method
    key = _NAMED_METHODS.get(method)
    target = getattr(params, "name", None) if key else None
    if key and isinstance(target, str) and target:
        attrs[key] = target
        name = f"{method} {target}"
    if method == "tools/call":
        attrs[A.GEN_AI_OPERATION_NAME] = A.OP_EXECUTE_TOOL
    elif method in _RESOURCE_METHODS and getattr(params, "uri", None) is not None:
        attrs[A.MCP_RESOURCE_URI] = str(params.uri)
    if method == "initialize":
        version = getattr(params, "protocolVersion", None)
        if isinstance(version, str):
            attrs[A.MCP_PROTOCOL_VERSION] = version
    arguments = getattr(params, "arguments", None) if method == "tools/call" else None
    return name, attrs, arguments


def extract(carrier: Any) -> Context | None:
    """The remote parent in a ``_meta`` mapping (or headers); ``None`` when there is none.

    Only string values of the reserved keys are read: wrong types, oversized values and a
    garbage ``traceparent`` are ignored, never raised."""
    try:
        if carrier is None:
            return None
        if not isinstance(carrier, Mapping):
            carrier = getattr(carrier, "model_extra", None) or {}
        clean = {
            key: value
            for key in _CONTEXT_KEYS
            if isinstance(value := carrier.get(key), str) and len(value) <= _MAX_HEADER
        }
        if "traceparent" not in clean:
            return None
        ctx = propagate.extract(clean)
        return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None
    except Exception:  # noqa: BLE001
        contain("reading MCP trace context")
        return None


def result_error(result: Any) -> tuple[str, str | None, str | None] | None:
    """``(error.type, status code, message)`` of an MCP result or error, else ``None``.

    A JSON-RPC error (an ``ErrorData``) is its code; a tool result with ``isError`` is
    ``tool_error`` (the JSON-RPC call itself succeeded)."""
    result = getattr(result, "root", result)
    code = getattr(result, "code", None)
    if isinstance(code, int) and hasattr(result, "message"):
        return str(code), str(code), str(result.message)[:500]
    if getattr(result, "isError", False) is True:
        return A.MCP_TOOL_ERROR, None, None
    return None


def tool_result(result: Any) -> Any:
    """A tool result as recorded (content policy applies): its content and structured content."""
    result = getattr(result, "root", result)
    dump = getattr(result, "model_dump", None)
    if dump is None:
        return result
    return dump(
        mode="json",
        by_alias=True,
        exclude_none=True,
        include={"content", "structuredContent", "isError"},
    )


def _rpc_code(exc: BaseException) -> str | None:
    """The JSON-RPC error code an ``McpError`` carries."""
    code = getattr(getattr(exc, "error", None), "code", None)
    return str(code) if isinstance(code, int) else None


class Call:
    """The span of one MCP request on one side, and its duration metric."""

    __slots__ = ("_metric", "_start", "method", "span")

    def __init__(
        self,
        tracer: Tracer,
        kind: SpanKind,
        name: str,
        attrs: dict[str, Any],
        context: Context | None,
        is_tool: bool,
        metric: str,
    ) -> None:
        if is_tool:
            attrs[A.SPAN_KIND] = A.KIND_TOOL
        self.method = attrs.get(A.MCP_METHOD_NAME)
        self.span: Span = tracer.start_span(name, context=context, kind=kind, attributes=attrs)
        self._metric = metric
        self._start = time.perf_counter()

    def record_arguments(self, arguments: Any) -> None:
        if arguments is not None and capture_content():
            record_input(self.span, A.KIND_TOOL, arguments)

    def record_result(self, result: Any) -> None:
        """Note the result (or ``ErrorData``): its error, and the tool's output by policy."""
        try:
            error = result_error(result)
            if error is not None:
                self.set_error(*error)
            elif self.method == "tools/call" and capture_content():
                record_output(self.span, A.KIND_TOOL, tool_result(result))
        except Exception:  # noqa: BLE001
            contain("recording an MCP result")

    def set_error(self, kind: str, code: str | None, message: str | None) -> None:
        attrs = {A.ERROR_TYPE: kind}
        if code is not None:
            attrs[A.RPC_RESPONSE_STATUS_CODE] = code
        self.span.set_attributes(attrs)
        self.span.set_status(Status(StatusCode.ERROR, message))

    def end(self, exc: BaseException | None = None) -> None:
        """End the span (recording ``exc``: an ``McpError`` as its JSON-RPC code) and queue
        the duration; never raises."""
        try:
            code = _rpc_code(exc) if exc is not None else None
            if exc is not None and code is not None:
                self.set_error(code, code, str(exc)[:500])
                self.span.record_exception(exc)
                exc = None
            end_span(self.span, exc)
            attrs = getattr(self.span, "attributes", None) or {}
            dims = {key: attrs[key] for key in _METRIC_KEYS if key in attrs}
            record_duration(self._metric, time.perf_counter() - self._start, dims)
        except Exception:  # noqa: BLE001
            contain("ending an MCP span")
