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
from opentelemetry.trace import SpanKind

from agentops_openai_agents import OpenAIAgentsInstrumentor
from agentops_otel import semconv as A
from conftest import (
    SERVER_SCRIPT,
    check_joined_session,
    instrumented,
    server_env,
    server_named,
    wait_for_spans,
)

set_trace_processors([])  # offline: the SDK's default processor would export to OpenAI


async def test_agent_mcp_tool_call_is_one_tool_under_the_agent(server, store_dir):
    server.clear()
    with instrumented(store_dir, OpenAIAgentsInstrumentor()) as cap:
        set_default_openai_client(
            AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0),
            use_for_tracing=False,
        )
        mcp_server = MCPServerStdio(
            params={
                "command": sys.executable,
                "args": [SERVER_SCRIPT, "stdio"],
                "env": server_env(server, store_dir),
            },
            tool_filter=create_static_tool_filter(allowed_tool_names=["ask"]),
            client_session_timeout_seconds=60,
        )  # a loaded machine starts the server slowly
        with cap.session():
            async with mcp_server:
                agent = Agent(
                    name="Researcher",
                    instructions="Use your tools.",
                    model="gpt-4o-mini",
                    mcp_servers=[mcp_server],
                )
                output = (await Runner.run(agent, "look up otel")).final_output
                await wait_for_spans(store_dir, lambda s: bool(server_named(s, "tools/call ask")))
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

    spans = check_joined_session(store_dir, server, mcp_call)
    assert len([s for s in spans if s.agentops_kind == A.KIND_TOOL and s.kind != "SERVER"]) == 1
