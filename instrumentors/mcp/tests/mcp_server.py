"""The FastMCP server the tests drive: ``python mcp_server.py stdio`` or ``... http PORT``.

With ``MCP_TEST_INIT=1`` it runs under ``agentops_otel.init()`` (the mcp and openai
instrumentors; the store named by ``AGENTOPS_OTEL_HOME``). Its ``ask`` tool calls the fake LLM
server at ``OPENAI_BASE_URL``; ``fail`` raises; ``die`` kills the process mid-call.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("MCP_TEST_INIT") == "1":
    import agentops_otel

    agentops_otel.init(
        service_name="mcp-test-server", session_name="mcp-server", instrument=["mcp", "openai"]
    )

from mcp.server.fastmcp import FastMCP
from openai import AsyncOpenAI

transport = sys.argv[1] if len(sys.argv) > 1 else "stdio"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
app = FastMCP("test-server", host="127.0.0.1", port=port)


@app.tool()
async def ask(question: str) -> str:
    """Ask the model a question."""
    client = AsyncOpenAI(max_retries=0)
    response = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
    )
    return response.choices[0].message.content or ""


@app.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(reason)


@app.tool()
def die() -> str:
    """Kills the server in the middle of the call."""
    os._exit(3)


@app.prompt()
def greet(name: str) -> str:
    """A greeting prompt."""
    return f"Say hello to {name}"


@app.resource("note://{key}")
def note(key: str) -> str:
    """A note."""
    return f"note {key}"


if __name__ == "__main__":
    app.run(transport="streamable-http" if transport == "http" else "stdio")
