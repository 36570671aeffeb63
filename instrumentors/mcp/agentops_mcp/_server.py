"""Server side: a SERVER span per request a low-level ``Server`` (FastMCP's too) handles.

``Server._handle_request`` runs the handler and sends the response; our span is current around
it, so the tool's own work (its LLM calls) nests beneath. The parent is the context in the
request's ``params._meta`` (whoever injected it), else the HTTP request's headers (Streamable
HTTP), else none: a new trace, whose ``tools/call`` span is then the tool span (with the
roll-ups of the tool's LLM calls); under a caller's context the caller's span counts the tool,
so an error is counted once when both sides export to one place. The response is read where
the SDK sends it (``RequestResponder.respond``). Every step of ours is contained, so the request
always gets its response.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Tracer

from agentops_mcp._common import Call, describe, extract
from agentops_otel import semconv as A
from agentops_otel.genai import contain

# The call being handled in this task, and its request id: read where the response is sent.
_CURRENT: contextvars.ContextVar[tuple[Any, Call] | None] = contextvars.ContextVar(
    "agentops_mcp_server_call", default=None
)


def handle_request(tracer: Tracer) -> Callable[..., Any]:
    """Wrapper of ``Server._handle_request(message, req, session, lifespan, raise_exceptions)``."""

    def parts(args: tuple, kwargs: dict) -> tuple[Any, Any, Any]:
        message = args[0] if args else kwargs["message"]
        request = args[1] if len(args) > 1 else kwargs["req"]
        return message, request, args[2] if len(args) > 2 else kwargs.get("session")

    return _traced(tracer, parts)


def received_request(tracer: Tracer) -> Callable[..., Any]:
    """Wrapper of ``ServerSession._received_request(responder)``, which answers ``initialize``
    itself (every other request goes on to ``Server._handle_request``)."""

    def parts(args: tuple, kwargs: dict) -> tuple[Any, Any, Any] | None:
        responder = args[0] if args else kwargs["responder"]
        request = getattr(responder.request, "root", None)
        return (
            (responder, request, None)
            if getattr(request, "method", None) == ("initialize")
            else None
        )

    return _traced(tracer, parts)


def _traced(tracer: Tracer, parts: Callable[[tuple, dict], Any]) -> Callable[..., Any]:
    """A wrapper that runs the handling of one request inside its SERVER span; ``parts`` picks
    (responder, request, session) from the call's arguments, or ``None`` to leave it alone."""

    async def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        started = None
        if is_instrumentation_enabled():
            try:
                found = parts(args, kwargs)
                started = _start(tracer, *found) if found is not None else None
            except Exception:  # noqa: BLE001
                contain("reading an MCP request")
        if started is None:
            return await wrapped(*args, **kwargs)
        call, token, var_token = started
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            _stop(token, var_token)
            call.end(exc)
            raise
        _stop(token, var_token)
        call.end()
        return result

    return wrapper


async def respond(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    """Wrapper of ``RequestResponder.respond``: note the response on the request's span."""
    current = _CURRENT.get()
    if current is not None and current[0] == getattr(instance, "request_id", None):
        current[1].record_result(args[0] if args else kwargs.get("response"))
    return await wrapped(*args, **kwargs)


def _start(
    tracer: Tracer, message: Any, request: Any, session: Any
) -> tuple[Call, Any, Any] | None:
    try:
        name, attrs, arguments = describe(request)
        request_id = getattr(message, "request_id", None)
        if request_id is not None:
            attrs[A.JSONRPC_REQUEST_ID] = str(request_id)
        client = getattr(session, "client_params", None)
        version = getattr(client, "protocolVersion", None)
        if isinstance(version, str):
            attrs.setdefault(A.MCP_PROTOCOL_VERSION, version)
        meta = getattr(message, "request_meta", None)
        if meta is None:
            meta = getattr(getattr(request, "params", None), "meta", None)
        parent = extract(meta)
        http = getattr(getattr(message, "message_metadata", None), "request_context", None)
        headers = getattr(http, "headers", None)
        if headers is not None:  # Streamable HTTP: a starlette Request
            attrs[A.NETWORK_TRANSPORT] = "tcp"
            attrs[A.NETWORK_PROTOCOL_NAME] = "http"
            session_id = headers.get("mcp-session-id")
            if session_id:
                attrs[A.MCP_SESSION_ID] = session_id
            if parent is None:
                parent = extract(headers)
        elif getattr(message, "message_metadata", None) is None and _tells_http():
            attrs[A.NETWORK_TRANSPORT] = "pipe"  # stdio (or in memory)
        # No remote parent: a new trace, never the server process's own session.
        context = parent if parent is not None else otel_context.Context()
        # A tool call is counted (as a tool, its error once) by the span of whoever traced it:
        # the caller's when the request carries its context, else ours.
        is_tool = parent is None and attrs[A.MCP_METHOD_NAME] == "tools/call"
        call = Call(
            tracer, SpanKind.SERVER, name, attrs, context, is_tool, A.METRIC_MCP_SERVER_DURATION
        )
        call.record_arguments(arguments)
        token = otel_context.attach(trace.set_span_in_context(call.span, context))
        return call, token, _CURRENT.set((request_id, call))
    except Exception:  # noqa: BLE001
        contain("starting an MCP server span")
        return None


@functools.cache
def _tells_http() -> bool:
    """Whether this mcp marks requests that came over HTTP (1.10+); older ones mark none, so
    no transport can be told from a request."""
    from mcp.shared.message import ServerMessageMetadata

    return "request_context" in getattr(ServerMessageMetadata, "__dataclass_fields__", {})


def _stop(token: Any, var_token: Any) -> None:
    try:
        _CURRENT.reset(var_token)
        otel_context.detach(token)
    except Exception:  # noqa: BLE001
        contain("leaving an MCP server span")
