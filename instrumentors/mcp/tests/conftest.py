"""Fixtures: the fake LLM server, a span capture with the mcp instrumentor (client side, in this
process), and the FastMCP test server (``mcp_server.py``) run as a real subprocess over stdio or
Streamable HTTP, writing its own spans to a local store that the tests read back."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentops_mcp import MCPInstrumentor
from agentops_openai import OpenAIInstrumentor
from agentops_otel.store import SpanRow, Store, StoreError, StoreSpanExporter
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.fixtures import no_content, server  # noqa: F401
from agentops_otel.testing.spans import SpanCapture

SERVER_SCRIPT = str(Path(__file__).with_name("mcp_server.py"))


@pytest.fixture
def capture() -> Iterator[SpanCapture]:
    cap = SpanCapture()
    MCPInstrumentor().instrument(tracer_provider=cap.provider)
    try:
        yield cap
    finally:
        MCPInstrumentor().uninstrument()
        cap.shutdown()


def also_to_store(cap: SpanCapture, store: Path) -> SpanCapture:
    """Make ``cap`` also write its spans to the local store at ``store`` (as they end)."""
    cap.provider.add_span_processor(SimpleSpanProcessor(StoreSpanExporter(store / "traces.db")))
    return cap


@contextlib.contextmanager
def instrumented(store: Path, *others: Any) -> Iterator[SpanCapture]:
    """A capture writing to the store too, with the openai instrumentor, ``others`` (a
    framework's) and ours applied to it for the block."""
    cap = also_to_store(SpanCapture(), store)
    applied = (OpenAIInstrumentor(), *others, MCPInstrumentor())
    for instrumentor in applied:
        instrumentor.instrument(tracer_provider=cap.provider)
    try:
        yield cap
    finally:
        for instrumentor in reversed(applied):
            instrumentor.uninstrument()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


def server_env(
    fake: FakeLLMServer, store: Path, *, instrumented: bool = True, **extra: str
) -> dict[str, str]:
    """The test server's environment: the fake LLM, the store, ``init()`` or not."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTOPS_", "OTEL_"))}
    env.update(
        OPENAI_BASE_URL=fake.openai_base_url,
        OPENAI_API_KEY="sk-test",
        AGENTOPS_OTEL_HOME=str(store),
        MCP_TEST_INIT="1" if instrumented else "0",
        **extra,
    )
    return env


def store_spans(store: Path) -> list[SpanRow]:
    """Every span in the store at ``store`` (empty when it does not exist yet)."""
    try:
        with Store.open(store) as reader:
            return [
                span
                for session in reader.list_sessions(limit=1000)
                for span in reader.session_spans(session.id)
            ]
    except StoreError:  # not there yet, or being created by the server right now
        return []


async def wait_for_spans(
    store: Path, ready: Callable[[list[SpanRow]], bool], timeout: float = 20.0
) -> list[SpanRow]:
    """Poll the store until ``ready(spans)``: the server process exports in the background."""
    deadline = time.monotonic() + timeout
    while True:
        spans = store_spans(store)
        if ready(spans) or time.monotonic() > deadline:
            return spans
        await anyio.sleep(0.1)


def server_named(spans: list[SpanRow], name: str) -> list[SpanRow]:
    return [s for s in spans if s.name == name and s.kind == "SERVER"]


def check_joined_session(store: Path, fake: FakeLLMServer, mcp_call: Any) -> list[SpanRow]:
    """The store's session ``s1`` after an agent called the ``ask`` tool once: the server's span
    under the client's MCP span, and every model call (the agent's two, the tool's one)
    counted once in the session's totals. Returns the session's spans."""
    with Store.open(store) as reader:
        row = reader.get_session("s1")
        spans = reader.session_spans("s1")
    (handled,) = server_named(spans, "tools/call ask")
    assert handled.parent_span_id == format(mcp_call.context.span_id, "016x")
    model_calls = [r for r in fake.requests if r["usage"]]
    assert len(model_calls) == 3
    assert row.llm_calls == 3
    assert row.input_tokens == sum(r["usage"]["input_tokens"] for r in model_calls)
    return spans


@contextlib.asynccontextmanager
async def stdio_session(env: dict[str, str]) -> AsyncIterator[ClientSession]:
    """A real client session over stdio with the test server as a subprocess."""
    params = StdioServerParameters(command=sys.executable, args=[SERVER_SCRIPT, "stdio"], env=env)
    with anyio.fail_after(120):  # old clients wait forever for a server that died at start
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def http_server(env: dict[str, str]) -> Iterator[str]:
    """The test server on Streamable HTTP at 127.0.0.1; yields its MCP URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, SERVER_SCRIPT, "http", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the MCP test server did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.asynccontextmanager
async def http_session(url: str) -> AsyncIterator[tuple[ClientSession, Any]]:
    """A real client session over Streamable HTTP; yields it and its session-id getter."""
    async with (
        streamablehttp_client(url) as (read, write, get_session_id),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session, get_session_id


# The framework tests need openai-agents and langchain-mcp-adapters, which the oldest mcp
# release cannot be installed with (they require newer mcp): that environment runs the SDK tests.
collect_ignore = [
    name
    for name, module in (
        ("test_agents.py", "agents"),
        ("test_langchain.py", "langchain_mcp_adapters"),
    )
    if importlib.util.find_spec(module) is None
]
