"""A LangChain agent (``create_agent``) calling the FastMCP test server's tool through
``langchain-mcp-adapters``: the MCP span sits under LangChain's own tool span (one tool), the
server continues the trace, and the store's session counts every model call once."""

from __future__ import annotations

import sys

from langchain.agents import create_agent
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from agentops_langchain import LangChainInstrumentor
from agentops_mcp import MCPInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_otel import semconv as A
from agentops_otel.store import Store, StoreSpanExporter
from agentops_otel.testing.spans import SpanCapture
from conftest import SERVER_SCRIPT, server_env, server_named, wait_for_spans


async def test_langchain_agent_mcp_tool_call_is_one_tool(server, store_dir):
    cap = SpanCapture()
    cap.provider.add_span_processor(SimpleSpanProcessor(StoreSpanExporter(store_dir / "traces.db")))
    instrumentors = (OpenAIInstrumentor(), LangChainInstrumentor(), MCPInstrumentor())
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=cap.provider)
    server.clear()
    client = MultiServerMCPClient({"test": {
        "command": sys.executable, "args": [SERVER_SCRIPT, "stdio"], "transport": "stdio",
        "env": server_env(server, store_dir)}})
    try:
        with cap.session():
            async with client.session("test") as session:
                tools = [t for t in await load_mcp_tools(session) if t.name == "ask"]
                model = ChatOpenAI(model="gpt-4o-mini", base_url=server.openai_base_url,
                                   api_key="sk-test", max_retries=0)
                agent = create_agent(model, tools, name="researcher")
                result = await agent.ainvoke({"messages": [("user", "look up otel")]})
                await wait_for_spans(store_dir, lambda s: bool(server_named(s, "tools/call ask")))
    finally:
        for instrumentor in reversed(instrumentors):
            instrumentor.uninstrument()
    assert "Fake reply from gpt-4o-mini" in str(result["messages"][-2].content)  # the tool's

    (tool_span,) = cap.of_kind(A.KIND_TOOL)  # LangChain's tool span, the only tool
    assert tool_span.attributes[A.GEN_AI_TOOL_NAME] == "ask"
    (mcp_call,) = [s for s in cap.named("tools/call ask") if s.kind is SpanKind.CLIENT]
    assert cap.parent_of(mcp_call) is tool_span
    assert A.SPAN_KIND not in mcp_call.attributes
    agent_spans = cap.of_kind(A.KIND_AGENT)
    assert agent_spans and mcp_call.attributes[A.AGENT_NAME] == "researcher"

    with Store.open(store_dir) as reader:
        row = reader.get_session("s1")
        spans = reader.session_spans("s1")
    (handled,) = server_named(spans, "tools/call ask")
    assert handled.parent_span_id == format(mcp_call.context.span_id, "016x")
    model_calls = [r for r in server.requests if r["usage"]]
    assert len(model_calls) == 3  # the agent's two model calls and the tool's own
    assert row.llm_calls == 3
    assert row.input_tokens == sum(r["usage"]["input_tokens"] for r in model_calls)
