"""End to end through a real collector: our export processors -> rotel (OTLP/HTTP or gRPC in,
OTLP/HTTP out, gzip) -> a local OTLP receiver. Attributes, costs and the tree arrive intact."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import rotel
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode

from agentops_otel import semconv as A
from agentops_otel._config import Settings
from agentops_otel.export import build_span_processors
from agentops_otel.testing.otlp_receiver import OtlpReceiver

ROTEL = Path(rotel.__file__).parent / "rotel-agent"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"rotel did not listen on {port}")


@pytest.fixture(scope="module")
def collector(tmp_path_factory) -> Iterator[tuple[OtlpReceiver, int, int]]:
    tmp = tmp_path_factory.mktemp("rotel")
    http_port, grpc_port = _free_port(), _free_port()
    with OtlpReceiver() as receiver:
        proc = subprocess.Popen(
            [
                str(ROTEL),
                "start",
                "--otlp-http-endpoint",
                f"127.0.0.1:{http_port}",
                "--otlp-grpc-endpoint",
                f"127.0.0.1:{grpc_port}",
                "--exporter",
                "otlp",
                "--otlp-exporter-endpoint",
                receiver.url,
                "--otlp-exporter-protocol",
                "http",
                "--pid-file",
                str(tmp / "rotel.pid"),
                "--log-file",
                str(tmp / "rotel.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(http_port)
            _wait_listening(grpc_port)
            yield receiver, http_port, grpc_port
        finally:
            proc.terminate()
            proc.wait(10)


def _app(settings: Settings, run: str) -> None:
    """A small instrumented app: session > agent > (llm, tool), as the core will emit them."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"app-{run}"}), shutdown_on_exit=False
    )
    for processor in build_span_processors(settings):
        provider.add_span_processor(processor)
    tracer = provider.get_tracer(A.TRACER_NAME)
    ident = {A.SESSION_ID: f"sess-{run}", A.SESSION_NAME: "e2e"}
    with tracer.start_as_current_span(
        f"session {run}",
        attributes={**ident, A.SPAN_KIND: A.KIND_SESSION, A.SESSION_TAGS: ["e2e", run]},
    ) as session:
        with tracer.start_as_current_span(
            "invoke_agent researcher",
            attributes={
                **ident,
                A.SPAN_KIND: A.KIND_AGENT,
                A.AGENT_NAME: "researcher",
                A.AGENT_ID: "agent-1",
            },
        ):
            with tracer.start_as_current_span(
                "chat gpt-4o",
                attributes={
                    **ident,
                    A.SPAN_KIND: A.KIND_LLM,
                    A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                    A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                    A.GEN_AI_USAGE_INPUT_TOKENS: 1200,
                    A.GEN_AI_USAGE_OUTPUT_TOKENS: 345,
                    A.COST_USD: 0.006450125,
                    A.COST_INPUT_USD: 0.003,
                    A.COST_OUTPUT_USD: 0.003450125,
                    A.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"],
                },
            ) as llm:
                llm.add_event("gen_ai.client.inference.operation.details", {"n": 1})
            with tracer.start_as_current_span(
                "execute_tool search",
                attributes={**ident, A.SPAN_KIND: A.KIND_TOOL, A.GEN_AI_TOOL_NAME: "search"},
            ) as tool:
                tool.set_status(Status(StatusCode.ERROR, "boom"))
        session.set_attributes(
            {
                A.TOTAL_COST_USD: 0.006450125,
                A.LLM_CALLS: 1,
                A.ERRORS: 1,
                A.TOTAL_INPUT_TOKENS: 1200,
                A.SESSION_END_STATE: "Success",
                A.LOOP_DETECTED: False,
            }
        )
    provider.shutdown()


def _check(receiver: OtlpReceiver, run: str) -> None:
    deadline = time.monotonic() + 10
    spans: dict[str, dict] = {}
    while time.monotonic() < deadline and len(spans) < 4:
        spans = {
            s["name"]: s
            for s in receiver.spans
            if s["resource"].get("service.name") == f"app-{run}"
        }
        time.sleep(0.05)
    assert set(spans) == {
        f"session {run}",
        "invoke_agent researcher",
        "chat gpt-4o",
        "execute_tool search",
    }
    session, agent = spans[f"session {run}"], spans["invoke_agent researcher"]
    llm, tool = spans["chat gpt-4o"], spans["execute_tool search"]
    assert session["parent_span_id"] is None
    assert agent["parent_span_id"] == session["span_id"]
    assert llm["parent_span_id"] == tool["parent_span_id"] == agent["span_id"]
    assert len({s["trace_id"] for s in spans.values()}) == 1
    attrs = llm["attributes"]
    assert attrs[A.COST_USD] == 0.006450125 and attrs[A.COST_OUTPUT_USD] == 0.003450125
    assert (attrs[A.GEN_AI_USAGE_INPUT_TOKENS], attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS]) == (1200, 345)
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ["stop"]
    assert attrs[A.SESSION_ID] == f"sess-{run}" and attrs[A.SPAN_KIND] == A.KIND_LLM
    assert llm["events"] == ["gen_ai.client.inference.operation.details"]
    assert session["attributes"][A.SESSION_TAGS] == ["e2e", run]
    assert session["attributes"][A.TOTAL_COST_USD] == 0.006450125
    assert session["attributes"][A.LOOP_DETECTED] is False
    assert (session["attributes"][A.LLM_CALLS], session["attributes"][A.ERRORS]) == (1, 1)
    assert tool["status_code"] == 2  # STATUS_CODE_ERROR
    assert agent["attributes"][A.AGENT_NAME] == "researcher"


def test_http_through_rotel(collector) -> None:
    receiver, http_port, _ = collector
    _app(Settings(otlp_endpoint=f"http://127.0.0.1:{http_port}", local_store=False), "http")
    _check(receiver, "http")
    assert any(r.get("content-encoding") == "gzip" for r in receiver.requests)


def test_grpc_through_rotel(collector) -> None:
    receiver, _, grpc_port = collector
    _app(
        Settings(
            otlp_endpoint=f"http://127.0.0.1:{grpc_port}", otlp_protocol="grpc", local_store=False
        ),
        "grpc",
    )
    _check(receiver, "grpc")
