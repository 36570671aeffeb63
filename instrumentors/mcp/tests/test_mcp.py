"""A real client (this process, instrumented into a span capture) against the real FastMCP test
server in a subprocess (instrumented by ``agentops_otel.init()``, writing to a local store),
over stdio and Streamable HTTP: one connected trace, attributes, roll-ups, content policy,
errors, a dying server, and either side uninstrumented."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import anyio
import mcp
import pytest
from mcp import types
from mcp.shared.exceptions import McpError
from mcp.shared.message import ServerMessageMetadata
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, StatusCode

import agentops_otel
from agentops_mcp import MCPInstrumentor
from agentops_otel import semconv as A
from agentops_otel.store import Store
from conftest import (
    SERVER_SCRIPT,
    also_to_store,
    http_server,
    http_session,
    server_env,
    server_named,
    stdio_session,
    wait_for_spans,
)

METRICS = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[METRICS]))

ASK = {"question": "what is otel"}
# mcp < 1.10 does not tell a server which transport a request came by.
TELLS_TRANSPORT = "request_context" in ServerMessageMetadata.__dataclass_fields__


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def _client(capture, name):
    (span,) = [s for s in capture.spans if s.name == name and s.kind is SpanKind.CLIENT]
    return span


def _ask_done(spans):
    return bool(server_named(spans, "tools/call ask")) and any(
        s.agentops_kind == A.KIND_LLM for s in spans
    )


async def test_stdio_one_trace_from_client_to_server_llm_call(server, capture, store_dir):
    server.clear()
    with capture.session():
        async with stdio_session(server_env(server, store_dir)) as session:
            await session.list_tools()
            result = await session.call_tool("ask", ASK)
            spans = await wait_for_spans(store_dir, _ask_done)
    assert result.content[0].text == "Fake reply from gpt-4o-mini: what is otel"

    call = _client(capture, "tools/call ask")
    attrs = call.attributes
    assert attrs[A.MCP_METHOD_NAME] == "tools/call"
    assert attrs[A.GEN_AI_TOOL_NAME] == "ask"
    assert attrs[A.GEN_AI_OPERATION_NAME] == A.OP_EXECUTE_TOOL
    assert attrs[A.SPAN_KIND] == A.KIND_TOOL
    assert attrs[A.NETWORK_TRANSPORT] == "pipe"
    assert attrs[A.JSONRPC_REQUEST_ID] == "2"  # initialize 0, tools/list 1
    assert attrs[A.MCP_PROTOCOL_VERSION] == types.LATEST_PROTOCOL_VERSION
    assert attrs[A.SESSION_ID] == "s1"
    assert '"what is otel"' in attrs[A.GEN_AI_TOOL_CALL_ARGUMENTS]
    assert "Fake reply" in attrs[A.GEN_AI_TOOL_CALL_RESULT]
    assert call.status.status_code is not StatusCode.ERROR
    init = _client(capture, "initialize")
    assert init.attributes[A.MCP_PROTOCOL_VERSION] == types.LATEST_PROTOCOL_VERSION
    assert A.SPAN_KIND not in _client(capture, "tools/list").attributes

    # The server's spans continue the client's trace: SERVER under CLIENT, LLM under SERVER.
    trace_id = _hex(call.context.trace_id, 32)
    (handled,) = server_named(spans, "tools/call ask")
    assert handled.trace_id == trace_id
    assert handled.parent_span_id == _hex(call.context.span_id, 16)
    assert handled.agentops_kind is None  # the client's span counts the tool
    assert handled.attributes[A.GEN_AI_OPERATION_NAME] == A.OP_EXECUTE_TOOL
    assert handled.attributes[A.JSONRPC_REQUEST_ID] == "2"
    assert handled.attributes.get(A.NETWORK_TRANSPORT) == ("pipe" if TELLS_TRANSPORT else None)
    (llm,) = [s for s in spans if s.agentops_kind == A.KIND_LLM]
    assert llm.trace_id == trace_id and llm.parent_span_id == handled.span_id
    assert llm.input_tokens == server.requests[0]["usage"]["input_tokens"]
    (listed,) = server_named(spans, "tools/list")
    assert listed.parent_span_id == _hex(_client(capture, "tools/list").context.span_id, 16)
    (initialized,) = server_named(spans, "initialize")
    assert initialized.parent_span_id == _hex(init.context.span_id, 16)


async def test_streamable_http_one_trace(server, capture, store_dir):
    server.clear()
    with http_server(server_env(server, store_dir)) as url, capture.session():
        async with http_session(url) as (session, get_session_id):
            await session.call_tool("ask", ASK)
            session_id = get_session_id()
            spans = await wait_for_spans(store_dir, _ask_done)
    call = _client(capture, "tools/call ask")
    attrs = call.attributes
    assert attrs[A.NETWORK_TRANSPORT] == "tcp"
    assert attrs[A.NETWORK_PROTOCOL_NAME] == "http"
    assert attrs[A.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[A.SERVER_PORT] == int(url.split(":")[2].split("/")[0])
    assert session_id and attrs[A.MCP_SESSION_ID] == session_id
    (handled,) = server_named(spans, "tools/call ask")
    assert handled.parent_span_id == _hex(call.context.span_id, 16)
    if TELLS_TRANSPORT:
        assert handled.attributes[A.NETWORK_TRANSPORT] == "tcp"
        assert handled.attributes[A.MCP_SESSION_ID] == session_id
    else:
        assert A.NETWORK_TRANSPORT not in handled.attributes
    (llm,) = [s for s in spans if s.agentops_kind == A.KIND_LLM]
    assert llm.parent_span_id == handled.span_id


async def test_session_total_includes_the_servers_llm_calls(server, capture, store_dir):
    """Both sides export to one store: the store joins the server's spans to the client's
    session by trace. The client process alone only knows its own spans."""
    also_to_store(capture, store_dir)
    server.clear()
    with capture.session():
        async with stdio_session(server_env(server, store_dir)) as session:
            await session.call_tool("ask", ASK)
            await session.call_tool("ask", {"question": "and again"})
            await wait_for_spans(
                store_dir, lambda spans: len([s for s in spans if s.agentops_kind == "llm"]) == 2
            )
    usage = [r["usage"] for r in server.requests]
    (session_span,) = capture.of_kind(A.KIND_SESSION)
    assert session_span.attributes[A.LLM_CALLS] == 0  # what the client process can know
    with Store.open(store_dir) as reader:
        row = reader.get_session("s1")
        spans = reader.session_spans("s1")
    assert row.llm_calls == 2
    assert row.input_tokens == sum(u["input_tokens"] for u in usage)
    assert row.output_tokens == sum(u["output_tokens"] for u in usage)
    assert row.cost_usd > 0
    assert len(server_named(spans, "tools/call ask")) == 2
    assert {s.trace_id for s in spans} == {_hex(session_span.context.trace_id, 32)}


async def test_erroring_tool(server, capture, store_dir):
    also_to_store(capture, store_dir)
    with capture.session():
        async with stdio_session(server_env(server, store_dir)) as session:
            result = await session.call_tool("fail", {"reason": "boom"})
            spans = await wait_for_spans(
                store_dir, lambda s: bool(server_named(s, "tools/call fail"))
            )
    assert result.isError
    call = _client(capture, "tools/call fail")
    assert call.status.status_code is StatusCode.ERROR
    assert call.attributes[A.ERROR_TYPE] == A.MCP_TOOL_ERROR
    assert A.GEN_AI_TOOL_CALL_RESULT not in call.attributes
    (session_span,) = capture.of_kind(A.KIND_SESSION)
    assert session_span.attributes[A.ERRORS] == 1
    (handled,) = server_named(spans, "tools/call fail")
    assert handled.status_code == "ERROR"
    assert handled.attributes[A.ERROR_TYPE] == A.MCP_TOOL_ERROR
    assert handled.agentops_kind is None  # the failure is counted once, on the client's span
    with Store.open(store_dir) as reader:
        assert reader.get_session("s1").errors == 1  # both sides' spans joined, one error


async def test_jsonrpc_error_is_recorded_with_its_code(server, capture, store_dir):
    async with stdio_session(server_env(server, store_dir)) as session:
        with pytest.raises(McpError) as raised:
            await session.get_prompt("no-such-prompt")
        spans = await wait_for_spans(
            store_dir, lambda s: bool(server_named(s, "prompts/get no-such-prompt"))
        )
    call = _client(capture, "prompts/get no-such-prompt")
    code = str(raised.value.error.code)
    assert call.attributes[A.ERROR_TYPE] == code
    assert call.attributes[A.RPC_RESPONSE_STATUS_CODE] == code
    assert call.status.status_code is StatusCode.ERROR
    (handled,) = server_named(spans, "prompts/get no-such-prompt")
    assert handled.attributes[A.ERROR_TYPE] == code
    assert handled.attributes[A.GEN_AI_PROMPT_NAME] == "no-such-prompt"


async def test_content_policy_off_on_both_sides(server, capture, store_dir, no_content):
    env = server_env(server, store_dir, AGENTOPS_CAPTURE_CONTENT="false")
    async with stdio_session(env) as session:
        await session.call_tool("ask", ASK)
        spans = await wait_for_spans(store_dir, _ask_done)
    call = _client(capture, "tools/call ask")
    assert A.GEN_AI_TOOL_CALL_ARGUMENTS not in call.attributes
    assert A.GEN_AI_TOOL_CALL_RESULT not in call.attributes
    (handled,) = server_named(spans, "tools/call ask")
    assert A.GEN_AI_TOOL_CALL_ARGUMENTS not in handled.attributes
    assert A.GEN_AI_TOOL_CALL_RESULT not in handled.attributes
    assert all("what is otel" not in str(s.attributes) for s in spans)


async def test_server_that_dies_mid_call(server, capture, store_dir):
    raised: list[BaseException] = []
    with anyio.fail_after(30):
        try:
            async with stdio_session(server_env(server, store_dir)) as session:
                try:
                    await session.call_tool("die", {}, read_timeout_seconds=timedelta(seconds=5))
                except Exception as exc:  # whatever the SDK raises for a dead server
                    raised.append(exc)
        except Exception:  # mcp 1.8's stdio_client fails to terminate the dead process
            pass
    (error,) = raised
    call = _client(capture, "tools/call die")
    assert call.status.status_code is StatusCode.ERROR
    expected = str(error.error.code) if isinstance(error, McpError) else type(error).__qualname__
    assert call.attributes[A.ERROR_TYPE] == expected


async def test_uninstrumented_server_keeps_client_spans(server, capture, store_dir):
    async with stdio_session(server_env(server, store_dir, instrumented=False)) as session:
        result = await session.call_tool("ask", ASK)
        listed = await session.list_tools()
    assert "Fake reply" in result.content[0].text  # our _meta did not disturb the server
    assert {t.name for t in listed.tools} >= {"ask", "fail"}
    call = _client(capture, "tools/call ask")
    assert call.attributes[A.GEN_AI_TOOL_NAME] == "ask"
    assert call.attributes[A.NETWORK_TRANSPORT] == "pipe"
    assert "Fake reply" in call.attributes[A.GEN_AI_TOOL_CALL_RESULT]
    assert store_dir.joinpath("traces.db").exists() is False


async def test_uninstrumented_client_server_spans_start_their_own_trace(server, store_dir):
    async with stdio_session(server_env(server, store_dir)) as session:
        await session.call_tool("ask", ASK)
        spans = await wait_for_spans(store_dir, _ask_done)
    (handled,) = server_named(spans, "tools/call ask")
    assert handled.parent_span_id is None
    (llm,) = [s for s in spans if s.agentops_kind == A.KIND_LLM]
    assert llm.trace_id == handled.trace_id and llm.parent_span_id == handled.span_id
    # No caller counts this tool: the server's span is the tool span, with the roll-ups.
    assert handled.agentops_kind == A.KIND_TOOL
    assert handled.attributes[A.TOTAL_INPUT_TOKENS] == llm.input_tokens
    assert handled.attributes[A.LLM_CALLS] == 1
    (listed,) = server_named(spans, "initialize")
    assert listed.trace_id != handled.trace_id  # one trace per request, none shared


def _call_with_meta(name: str, meta: dict) -> types.ClientRequest:
    params = types.CallToolRequestParams.model_validate(
        {"name": name, "arguments": ASK, "_meta": meta}
    )
    return types.ClientRequest(types.CallToolRequest(method="tools/call", params=params))


async def test_server_continues_a_foreign_clients_meta(server, store_dir):
    """Another OTel MCP instrumentation (SEP-414) injected the context: we continue it."""
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    meta = {
        "traceparent": traceparent,
        "tracestate": "rojo=00f067aa0ba902b7",
        "baggage": "userId=alice",
    }
    async with stdio_session(server_env(server, store_dir)) as session:
        result = await session.send_request(_call_with_meta("ask", meta), types.CallToolResult)
        spans = await wait_for_spans(store_dir, _ask_done)
    assert not result.isError
    (handled,) = server_named(spans, "tools/call ask")
    assert handled.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert handled.parent_span_id == "00f067aa0ba902b7"


@pytest.mark.parametrize(
    "meta",
    [
        {"traceparent": 12345, "tracestate": ["x"], "baggage": {"a": 1}},
        {"traceparent": "00-zzzz-garbage-01", "baggage": "%%%,=,;"},
        {"traceparent": "00-" + "0" * 32 + "-" + "0" * 16 + "-01"},
        {"traceparent": "x" * 100_000},
    ],
)
async def test_malformed_meta_is_ignored(server, store_dir, meta):
    async with stdio_session(server_env(server, store_dir)) as session:
        result = await session.send_request(_call_with_meta("ask", meta), types.CallToolResult)
        spans = await wait_for_spans(store_dir, _ask_done)
    assert "Fake reply" in result.content[0].text
    (handled,) = server_named(spans, "tools/call ask")
    assert handled.parent_span_id is None  # a new trace, not an error


def test_nothing_on_stdout_of_a_stdio_server_under_init(server, store_dir):
    """A stdio server's stdout is its protocol channel: import, init() and instrumenting it
    (its stdin closed at once, so it exits) write nothing there."""
    done = subprocess.run(
        [sys.executable, SERVER_SCRIPT, "stdio"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=server_env(server, store_dir),
        timeout=60,
    )
    assert done.stdout == b""
    assert done.returncode == 0, done.stderr.decode()[-2000:]


class _BrokenTracer:
    def start_span(self, *args, **kwargs):
        raise RuntimeError("broken tracer")


class _BrokenProvider(TracerProvider):
    def get_tracer(self, *args, **kwargs):
        return _BrokenTracer()


async def test_broken_instrumentation_still_answers_every_request():
    """Our server- and client-side code failing (a tracer that raises) costs no response."""
    from mcp.server.fastmcp import FastMCP
    from mcp.shared.memory import create_connected_server_and_client_session

    app = FastMCP("in-process")

    @app.tool()
    def add(a: int, b: int) -> int:
        return a + b

    MCPInstrumentor().instrument(tracer_provider=_BrokenProvider())
    try:
        with anyio.fail_after(20):
            async with create_connected_server_and_client_session(app._mcp_server) as session:
                result = await session.call_tool("add", {"a": 2, "b": 3})
    finally:
        MCPInstrumentor().uninstrument()
    assert result.content[0].text == "5"


async def test_in_process_server_and_metrics(capture):
    """Client and server in one process (memory transport): SERVER under CLIENT, and both
    duration metrics with the method and tool as dimensions."""
    from mcp.server.fastmcp import FastMCP
    from mcp.shared.memory import create_connected_server_and_client_session

    app = FastMCP("in-process")

    @app.tool()
    def add(a: int, b: int) -> int:
        return a + b

    async with create_connected_server_and_client_session(app._mcp_server) as session:
        await session.call_tool("add", {"a": 2, "b": 3})
    call = _client(capture, "tools/call add")
    (handled,) = [
        s for s in capture.spans if s.name == "tools/call add" and s.kind is SpanKind.SERVER
    ]
    assert handled.parent.span_id == call.context.span_id
    assert handled.context.trace_id == call.context.trace_id
    agentops_otel.flush()  # records the queued measurements
    data = METRICS.get_metrics_data()
    points = {
        m.name: [p.attributes for p in m.data.data_points]
        for r in data.resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
    }
    for name in (A.METRIC_MCP_CLIENT_DURATION, A.METRIC_MCP_SERVER_DURATION):
        assert {A.MCP_METHOD_NAME: "tools/call", A.GEN_AI_TOOL_NAME: "add"}.items() <= max(
            (p for p in points[name] if p.get(A.GEN_AI_TOOL_NAME) == "add"), key=len
        ).items()


def test_uninstrument_restores_the_sdk():
    from mcp.server.lowlevel.server import Server
    from mcp.shared.session import BaseSession

    originals = (
        BaseSession.__dict__["send_request"],
        Server.__dict__["_handle_request"],
        mcp.ClientSession.__dict__["__init__"],
    )
    MCPInstrumentor().instrument(tracer_provider=TracerProvider())
    assert BaseSession.__dict__["send_request"] is not originals[0]
    MCPInstrumentor().uninstrument()
    assert (
        BaseSession.__dict__["send_request"],
        Server.__dict__["_handle_request"],
        mcp.ClientSession.__dict__["__init__"],
    ) == originals
