"""A LangChain agent (``create_agent``) calling the FastMCP test server's tool through
``langchain-mcp-adapters``: the MCP span sits under LangChain's own tool span (one tool), the
server continues the trace, and the store's session counts every model call once."""

from __future__ import annotations

import sys

from langchain.agents import create_agent
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools
from langchain_openai import ChatOpenAI
from opentelemetry.trace import SpanKind

from agentops_langchain import LangChainInstrumentor
from agentops_otel import semconv as A
from conftest import (
    SERVER_SCRIPT,
    check_joined_session,
    instrumented,
    server_env,
    server_named,
    wait_for_spans,
)


async def test_langchain_agent_mcp_tool_call_is_one_tool(server, store_dir):
    server.clear()
    client = MultiServerMCPClient(
        {
            "test": {
                "command": sys.executable,
                "args": [SERVER_SCRIPT, "stdio"],
                "transport": "stdio",
                "env": server_env(server, store_dir),
            }
        }
    )
    with instrumented(store_dir, LangChainInstrumentor()) as cap, cap.session():
        async with client.session("test") as session:
            tools = [t for t in await load_mcp_tools(session) if t.name == "ask"]
            model = ChatOpenAI(
                model="gpt-4o-mini",
                base_url=server.openai_base_url,
                api_key="sk-test",
                max_retries=0,
            )
            agent = create_agent(model, tools, name="researcher")
            result = await agent.ainvoke({"messages": [("user", "look up otel")]})
            await wait_for_spans(store_dir, lambda s: bool(server_named(s, "tools/call ask")))
    assert "Fake reply from gpt-4o-mini" in str(result["messages"][-2].content)  # the tool's

    (tool_span,) = cap.of_kind(A.KIND_TOOL)  # LangChain's tool span, the only tool
    assert tool_span.attributes[A.GEN_AI_TOOL_NAME] == "ask"
    (mcp_call,) = [s for s in cap.named("tools/call ask") if s.kind is SpanKind.CLIENT]
    assert cap.parent_of(mcp_call) is tool_span
    assert A.SPAN_KIND not in mcp_call.attributes
    agent_spans = cap.of_kind(A.KIND_AGENT)
    assert agent_spans and mcp_call.attributes[A.AGENT_NAME] == "researcher"

    check_joined_session(store_dir, server, mcp_call)
