"""The OpenAI Agents SDK calling the FastMCP test server's tool through ``MCPServerStdio``:
the MCP span sits under the agent's own tool span (counted once), the server continues the
trace, and the store's session total counts every model call once, the server's included."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENAI_API_KEY", "sk-test")
os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "false"

from agents import Agent, Runner, set_default_openai_client, set_trace_processors
from agents.mcp import MCPServerStdio, create_static_tool_filter
from openai import AsyncOpenAI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from agentops_mcp import MCPInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_openai_agents import OpenAIAgentsInstrumentor
from agentops_otel import semconv as A
from agentops_otel.store import Store, StoreSpanExporter
from agentops_otel.testing.spans import SpanCapture
from conftest import SERVER_SCRIPT, server_env, server_named, wait_for_spans

set_trace_processors([])  # offline: the SDK's default processor would export to OpenAI


async def test_agent_mcp_tool_call_is_one_tool_under_the_agent(server, store_dir):
    cap = SpanCapture()
    cap.provider.add_span_processor(SimpleSpanProcessor(StoreSpanExporter(store_dir / "traces.db")))
    instrumentors = (OpenAIInstrumentor(), OpenAIAgentsInstrumentor(), MCPInstrumentor())
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=cap.provider)
    server.clear()
    try:
        set_default_openai_client(
            AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0),
            use_for_tracing=False)
        mcp_server = MCPServerStdio(
            params={"command": sys.executable, "args": [SERVER_SCRIPT, "stdio"],
                    "env": server_env(server, store_dir)},
            tool_filter=create_static_tool_filter(allowed_tool_names=["ask"]),
            client_session_timeout_seconds=60)  # a loaded machine starts the server slowly
        with cap.session():
            async with mcp_server:
                agent = Agent(name="Researcher", instructions="Use your tools.",
                              model="gpt-4o-mini", mcp_servers=[mcp_server])
                output = (await Runner.run(agent, "look up otel")).final_output
                await wait_for_spans(store_dir, lambda s: bool(server_named(s, "tools/call ask")))
    finally:
        for instrumentor in reversed(instrumentors):
            instrumentor.uninstrument()
    assert "Fake reply from gpt-4o-mini" in output  # the MCP tool's answer reached the agent

    (agent_span,) = cap.of_kind(A.KIND_AGENT)
    (tool_span,) = [s for s in cap.of_kind(A.KIND_TOOL)]  # the SDK's tool span, only one
    assert tool_span.attributes[A.GEN_AI_TOOL_NAME] == "ask"
    assert cap.parent_of(tool_span) is agent_span
    (mcp_call,) = [s for s in cap.named("tools/call ask") if s.kind is SpanKind.CLIENT]
    assert cap.parent_of(mcp_call) is tool_span
    assert A.SPAN_KIND not in mcp_call.attributes
    assert mcp_call.attributes[A.AGENT_NAME] == "Researcher"
    assert mcp_call.attributes[A.GEN_AI_TOOL_NAME] == "ask"

    with Store.open(store_dir) as reader:
        row = reader.get_session("s1")
        spans = reader.session_spans("s1")
    (handled,) = server_named(spans, "tools/call ask")
    assert handled.parent_span_id == format(mcp_call.context.span_id, "016x")
    model_calls = [r for r in server.requests if r["usage"]]
    assert len(model_calls) == 3  # the agent's two turns and the tool's own call
    assert row.llm_calls == 3
    assert row.input_tokens == sum(r["usage"]["input_tokens"] for r in model_calls)
    assert len([s for s in spans if s.agentops_kind == A.KIND_TOOL and s.kind != "SERVER"]) == 1
