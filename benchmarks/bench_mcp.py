"""Per-call overhead of an MCP ``tools/call`` over stdio, with and without our instrumentation
on the client side, the server side, and both (plain ``init()``: local store on).

    .venvs/mcp-latest/bin/python benchmarks/bench_mcp.py [--calls 400 --rounds 3]

Each configuration runs in its own client process (``init()`` owns a process's tracer provider)
that spawns the FastMCP server below over stdio and times sequential calls of a trivial tool.
Stores go to a temporary directory. Prints one table: median per-call latency and the overhead
over the uninstrumented pair; then the same call in one process over the SDK's memory transport,
instrumented and not in alternating rounds (the wrappers' own cost, without pipe noise).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CONFIGS = (
    ("neither", False, False),
    ("client", True, False),
    ("server", False, True),
    ("both", True, True),
)


def serve() -> None:
    """The server process: FastMCP over stdio, under init() when BENCH_INIT=1."""
    if os.environ.get("BENCH_INIT") == "1":
        import agentops_otel

        agentops_otel.init(instrument=["mcp"], service_name="bench-mcp-server")
    from mcp.server.fastmcp import FastMCP

    app = FastMCP("bench")

    @app.tool()
    def echo(text: str) -> str:
        return text

    app.run()


async def _time_calls(calls: int, rounds: int, server_init: bool) -> list[float]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    env = {**os.environ, "BENCH_INIT": "1" if server_init else "0"}
    params = StdioServerParameters(command=sys.executable, args=[__file__, "serve"], env=env)
    per_call = []
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for _ in range(50):  # warm-up
            await session.call_tool("echo", {"text": "warm"})
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(calls):
                await session.call_tool("echo", {"text": "hello"})
            per_call.append((time.perf_counter() - start) / calls * 1e6)
    return per_call


def client(calls: int, rounds: int, client_init: bool, server_init: bool) -> None:
    """One configuration: prints the per-call microseconds of each round as JSON."""
    if client_init:
        import agentops_otel

        agentops_otel.init(instrument=["mcp"], service_name="bench-mcp-client")
    print(json.dumps(asyncio.run(_time_calls(calls, rounds, server_init))))


async def _in_process(calls: int, rounds: int) -> tuple[float, float]:
    """Client and server in this process over the SDK's memory transport, our instrumentation
    (both sides, our processor, a dropping exporter) switched on and off between rounds: the
    CPU cost of our wrappers without pipe and process noise. Median CPU us/call (off, on)."""
    import logging

    from mcp.server.fastmcp import FastMCP
    from mcp.shared.memory import create_connected_server_and_client_session
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    from agentops_mcp import MCPInstrumentor
    from agentops_otel.processor import AgentOpsSpanProcessor

    class Drop(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    logging.disable(logging.INFO)  # the SDK logs every request at INFO
    provider = TracerProvider()
    provider.add_span_processor(AgentOpsSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(Drop()))
    app = FastMCP("bench")

    @app.tool()
    def echo(text: str) -> str:
        return text

    timings: dict[bool, list[float]] = {False: [], True: []}
    async with create_connected_server_and_client_session(app._mcp_server) as session:
        for _ in range(50):
            await session.call_tool("echo", {"text": "warm"})
        for _ in range(rounds):
            for on in (False, True):
                if on:
                    MCPInstrumentor().instrument(tracer_provider=provider)
                start = time.process_time()  # CPU time: other processes' load left out
                for _ in range(calls):
                    await session.call_tool("echo", {"text": "hello"})
                timings[on].append((time.process_time() - start) / calls * 1e6)
                if on:
                    MCPInstrumentor().uninstrument()
    return statistics.median(timings[False]), statistics.median(timings[True])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTOPS_", "OTEL_"))}
        env["AGENTOPS_OTEL_HOME"] = home
        for name, client_init, server_init in CONFIGS:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "client",
                    str(args.calls),
                    str(args.rounds),
                    str(int(client_init)),
                    str(int(server_init)),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            )
            results[name] = statistics.median(json.loads(out.stdout.strip().splitlines()[-1]))
    off, on = asyncio.run(_in_process(args.calls, args.rounds))
    base = results["neither"]
    print(f"tools/call over stdio, {args.calls} calls x {args.rounds} rounds (median of rounds)")
    print(f"{'instrumented':<14}{'us/call':>10}{'overhead us':>14}")
    for name, value in results.items():
        print(f"{name:<14}{value:>10.0f}{value - base:>14.0f}")
    print(
        f"in process (memory transport), both sides, CPU time: {off:.0f} us/call bare, "
        f"{on:.0f} us/call instrumented: {on - off:+.0f} us per call"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve()
    elif sys.argv[1:2] == ["client"]:
        client(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1")
    else:
        main()
