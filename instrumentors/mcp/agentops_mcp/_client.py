"""Client side: a CLIENT span per request a ``ClientSession`` sends, its context in ``_meta``.

The seam is ``BaseSession.send_request``, which every ``ClientSession`` method (``initialize``,
``call_tool``, ``list_tools``, ``read_resource``, ``get_prompt``…) goes through. The transport
is learned from what the transport context managers (``stdio_client``,
``streamablehttp_client``) start before the session is built on their streams.
"""

from __future__ import annotations

import contextvars
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Tracer

from agentops_mcp._common import Call, describe
from agentops_otel import semconv as A
from agentops_otel.genai import contain

# ClientSession → (attributes of its transport, the HTTP transport object or None).
_transports: weakref.WeakKeyDictionary[Any, tuple[dict[str, Any], Any]] = (
    weakref.WeakKeyDictionary()
)
# ClientSession → the protocol version its initialize negotiated.
_versions: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

_STDIO = {A.NETWORK_TRANSPORT: "pipe"}


def send_request(tracer: Tracer) -> Callable[..., Any]:
    """Wrapper of ``BaseSession.send_request``: spans for the requests of client sessions."""
    from mcp.client.session import ClientSession

    async def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        if not isinstance(instance, ClientSession) or not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        started = _start(tracer, instance, args, kwargs)
        if started is None:
            return await wrapped(*args, **kwargs)
        call, args, kwargs = started
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            call.end(exc)
            raise
        _finish(instance, call, result)
        return result

    return wrapper


def _start(
    tracer: Tracer, session: Any, args: tuple, kwargs: dict
) -> tuple[Call, tuple, dict] | None:
    """Open the span and return the call's arguments with the request carrying its context."""
    try:
        request = args[0] if args else kwargs["request"]
        name, attrs, arguments = describe(getattr(request, "root", request))
        request_id = getattr(session, "_request_id", None)  # the id send_request will use
        if isinstance(request_id, int):
            attrs[A.JSONRPC_REQUEST_ID] = str(request_id)
        version = _lookup(_versions, session)
        if version:
            attrs[A.MCP_PROTOCOL_VERSION] = version
        transport = _lookup(_transports, session)
        if transport is not None:
            attrs.update(transport[0])
            session_id = getattr(transport[1], "session_id", None)
            if isinstance(session_id, str) and session_id:
                attrs[A.MCP_SESSION_ID] = session_id
        # A framework's own tool span around this call already counts the tool: ours is then
        # the transport's span beneath it, not a second tool.
        current = getattr(trace.get_current_span(), "attributes", None) or {}
        is_tool = (
            attrs[A.MCP_METHOD_NAME] == "tools/call" and current.get(A.SPAN_KIND) != A.KIND_TOOL
        )
        call = Call(
            tracer, SpanKind.CLIENT, name, attrs, None, is_tool, A.METRIC_MCP_CLIENT_DURATION
        )
        call.record_arguments(arguments)
    except Exception:  # noqa: BLE001
        contain("starting an MCP client span")
        return None
    try:
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(call.span))
        if carrier:
            request = _with_meta(request, carrier)
            if args:
                args = (request, *args[1:])
            else:
                kwargs = {**kwargs, "request": request}
    except Exception:  # noqa: BLE001
        contain("injecting MCP trace context")
    return call, args, kwargs


def _with_meta(request: Any, carrier: dict[str, str]) -> Any:
    """A copy of ``request`` whose ``params._meta`` also holds ``carrier`` (ours win); the
    user's request object is left as it was."""
    from mcp.types import RequestParams

    root: Any = getattr(request, "root", None)
    params = getattr(root, "params", None)
    if isinstance(params, RequestParams):  # the usual case: copy, validating only the _meta
        meta = params.meta.model_dump(exclude_none=True) if params.meta is not None else {}
        new_meta = RequestParams.Meta.model_validate({**meta, **carrier})
        new_root = root.model_copy(update={"params": params.model_copy(update={"meta": new_meta})})
        return type(request)(new_root)
    data = request.model_dump(by_alias=True, mode="json", exclude_none=True)  # e.g. no params
    params = data.get("params")
    if not isinstance(params, dict):
        params = data["params"] = {}
    meta = params.get("_meta")
    params["_meta"] = {**meta, **carrier} if isinstance(meta, dict) else carrier
    return type(request).model_validate(data)


def _finish(session: Any, call: Call, result: Any) -> None:
    try:
        if call.method == "initialize":
            version = getattr(result, "protocolVersion", None)
            if isinstance(version, str):
                _versions[session] = version
                call.span.set_attribute(A.MCP_PROTOCOL_VERSION, version)
        call.record_result(result)
    except Exception:  # noqa: BLE001
        contain("recording an MCP client result")
    call.end()


def _lookup(table: weakref.WeakKeyDictionary[Any, Any], key: Any) -> Any:
    try:
        return table.get(key)
    except TypeError:  # not weakly referenceable
        return None


# -- transports ----------------------------------------------------------------------------
# The transport context managers run in the caller's task, so what they note here is seen by the
# ClientSession the caller builds next on their streams (module globals they call at run time
# are wrapped, so the caller's import order does not matter).
_PENDING: contextvars.ContextVar[tuple[dict[str, Any], Any] | None] = contextvars.ContextVar(
    "agentops_mcp_transport", default=None
)


def session_init(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    """Wrapper of ``ClientSession.__init__``: bind the transport just opened to the session."""
    result = wrapped(*args, **kwargs)
    transport = _PENDING.get()
    if transport is not None:
        try:
            _transports[instance] = transport
            _PENDING.set(None)
        except Exception:  # noqa: BLE001
            contain("noting an MCP transport")
    return result


def stdio_process(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    """Wrapper of the stdio client's process start: the session is on a pipe."""
    _PENDING.set((_STDIO, None))
    return wrapped(*args, **kwargs)


def http_transport(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    """Wrapper of ``StreamableHTTPTransport.__init__``: TCP, HTTP, the server's address and
    port, and the transport (whose ``session_id`` is the MCP session id)."""
    result = wrapped(*args, **kwargs)
    attrs: dict[str, Any] = {A.NETWORK_TRANSPORT: "tcp", A.NETWORK_PROTOCOL_NAME: "http"}
    try:
        url = urlsplit(str(getattr(instance, "url", "")))
        if url.hostname:
            attrs[A.SERVER_ADDRESS] = url.hostname
            attrs[A.SERVER_PORT] = url.port or (443 if url.scheme == "https" else 80)
    except Exception:  # noqa: BLE001
        contain("reading an MCP server URL")
    _PENDING.set((attrs, instance))
    return result
