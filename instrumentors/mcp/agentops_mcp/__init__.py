"""OpenTelemetry instrumentation of the Model Context Protocol Python SDK (``mcp`` 1.x, FastMCP
included) for agentops-otel, by the OTel GenAI MCP conventions.

Client: every request a ``ClientSession`` sends (``initialize``, ``tools/list``, ``tools/call``,
``resources/read``, ``prompts/get``…) is a CLIENT span ``{mcp.method.name} {target}`` with
``mcp.method.name``, ``jsonrpc.request.id``, ``mcp.protocol.version``, ``network.transport``
(``pipe`` for stdio, ``tcp`` + ``network.protocol.name=http`` for Streamable HTTP, with
``server.address``/``server.port`` and ``mcp.session.id``), ``gen_ai.tool.name`` and
``gen_ai.operation.name=execute_tool`` for tool calls, ``gen_ai.prompt.name``,
``mcp.resource.uri``, and ``error.type`` (the JSON-RPC error code, ``tool_error`` for a result
with ``isError``, or the exception's type). Tool arguments and results follow the content
policy. The span's context is injected into ``params._meta`` (SEP-414: ``traceparent``,
``tracestate``, ``baggage``) through the configured propagators.

A ``tools/call`` span is a tool span (``agentops.span.kind=tool``) unless a framework's own tool
span is current (the OpenAI Agents SDK's, LangChain's…): that one already counts the tool, and
ours is the MCP request beneath it.

Server: every request ``Server`` handles is a SERVER span continuing the trace in
``params._meta`` (from our client or any other instrumentation that follows SEP-414), else in
the Streamable HTTP request's headers, else starting a new trace; the handler's work (LLM calls
included) nests beneath it. A ``tools/call`` server span that starts a new trace is the tool
span (rolling up the tool's tokens and cost); under a caller's context the caller's span counts
the tool, so a failed call is one error when both sides export to one store, which joins the
server's spans to the client's session by trace.
Metrics: ``mcp.client.operation.duration`` and ``mcp.server.operation.duration``, recorded off
the caller's thread. Nothing here writes to stdout (a stdio server's protocol channel).
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentops_mcp import _client, _server
from agentops_mcp.package import _instruments
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["MCPInstrumentor"]
__version__ = "0.1.0"


class MCPInstrumentor(PatchingInstrumentor):
    """``MCPInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("mcp",)  # init() instruments when mcp is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        patches.wrap("mcp.shared.session", "BaseSession.send_request", _client.send_request(tracer))
        patches.wrap(
            "mcp.server.lowlevel.server", "Server._handle_request", _server.handle_request(tracer)
        )
        patches.wrap(
            "mcp.server.session",
            "ServerSession._received_request",
            _server.received_request(tracer),
        )
        patches.wrap("mcp.shared.session", "RequestResponder.respond", _server.respond)
        patches.wrap("mcp.client.session", "ClientSession.__init__", _client.session_init)
        patches.wrap(
            "mcp.client.stdio", "_create_platform_compatible_process", _client.stdio_process
        )
        patches.wrap(
            "mcp.client.streamable_http", "StreamableHTTPTransport.__init__", _client.http_transport
        )
