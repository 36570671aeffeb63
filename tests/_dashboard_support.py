"""Shared by the dashboard tests: the real ``agentops-otel serve`` in a subprocess on 127.0.0.1,
and the data sent to it the way other programs send it (the OTLP exporter, OTLP/JSON)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from agentops_otel import semconv as A

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SCRIPT = "<script>alert('xss-script')</script>"
IMG = "<img src=x onerror=alert('xss-img')>"
XSS_SESSION = "xss-session"
UNPRICED_SESSION = "unpriced-session"


@dataclass
class Server:
    url: str
    home: Path
    process: subprocess.Popen[str]

    def client(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("headers", AUTH)
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)


def start_server(home: Path, token: str | None = TOKEN) -> Server:
    """``agentops-otel serve --port 0`` on ``home``; the URL is read from its first line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.pop("AGENTOPS_OTEL_TOKEN", None)
    args = [sys.executable, "-m", "agentops_otel.cli", "serve", "--port", "0", "--store", str(home)]
    if token:
        args += ["--token", token]
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(60)
    line = first[0] if first else ""
    if "http://" not in line:
        process.kill()
        raise AssertionError(f"serve did not start: {line!r} {process.stderr.read()}")
    url = line.split("http://", 1)[1].split()[0]
    return Server(f"http://{url}", home, process)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(15)


def send_foreign_spans(url: str, token: str = TOKEN) -> None:
    """Another vendor's app (no agentops-otel): a request with an LLM call carrying tokens but
    no cost, and a session whose names and content carry HTML; sent by the real OTLP/HTTP
    exporter (protobuf, gzip)."""
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/traces",
        compression=Compression.Gzip,
        headers={"authorization": f"Bearer {token}"},
    )
    provider = TracerProvider(resource=Resource({"service.name": "node-app"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("openllmetry-js")
    with tracer.start_as_current_span("handle request"):
        with tracer.start_as_current_span(
            "chat gpt-4o-mini",
            attributes={
                A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                A.GEN_AI_PROVIDER_NAME: "openai",
                A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
                A.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000,
                A.GEN_AI_USAGE_OUTPUT_TOKENS: 1000,
            },
        ):
            pass
    messages = json.dumps(
        [
            {
                "role": "user",
                "parts": [{"type": "text", "content": f"Summarise {SCRIPT} and {IMG} please"}],
            }
        ]
    )
    with tracer.start_as_current_span(
        SCRIPT,
        attributes={A.SESSION_ID: XSS_SESSION, A.SPAN_KIND: A.KIND_SESSION, A.SESSION_NAME: IMG},
    ):
        with tracer.start_as_current_span(
            f"chat {IMG}",
            attributes={
                A.SESSION_ID: XSS_SESSION,
                A.SPAN_KIND: A.KIND_LLM,
                A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                A.GEN_AI_PROVIDER_NAME: "openai",
                A.GEN_AI_USAGE_INPUT_TOKENS: 10,
                A.GEN_AI_USAGE_OUTPUT_TOKENS: 5,
                A.GEN_AI_INPUT_MESSAGES: messages,
                IMG: SCRIPT,
            },
        ) as llm:
            llm.set_status(Status(StatusCode.ERROR, SCRIPT))
    provider.shutdown()


def unpriced_request() -> dict[str, Any]:
    """OTLP/JSON by hand (string enums, hex ids, int64 as strings) for a model with no price."""

    def attr(key: str, **value: Any) -> dict[str, Any]:
        return {"key": key, "value": value}

    trace = "5b8efff798038103d269b633813fc60c"
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr("service.name", stringValue="go-app")]},
                "scopeSpans": [
                    {
                        "scope": {"name": "go-genai"},
                        "spans": [
                            {
                                "traceId": trace,
                                "spanId": "eee19b7ec3c1b174",
                                "name": "agent run",
                                "kind": "SPAN_KIND_INTERNAL",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000003000000000",
                                "attributes": [
                                    attr(A.SESSION_ID, stringValue=UNPRICED_SESSION),
                                    attr(A.SPAN_KIND, stringValue=A.KIND_SESSION),
                                    attr(
                                        A.SESSION_TAGS,
                                        arrayValue={"values": [{"stringValue": "nightly"}]},
                                    ),
                                    attr(A.SESSION_END_STATE, stringValue="Fail"),
                                ],
                                "status": {"code": "STATUS_CODE_ERROR", "message": "gave up"},
                            },
                            {
                                "traceId": trace,
                                "spanId": "eee19b7ec3c1b175",
                                "parentSpanId": "eee19b7ec3c1b174",
                                "name": "chat mystery-model-x",
                                "kind": 3,
                                "startTimeUnixNano": "1700000001000000000",
                                "endTimeUnixNano": "1700000002000000000",
                                "attributes": [
                                    attr(A.SESSION_ID, stringValue=UNPRICED_SESSION),
                                    attr(A.GEN_AI_OPERATION_NAME, stringValue=A.OP_CHAT),
                                    attr(A.GEN_AI_REQUEST_MODEL, stringValue="mystery-model-x"),
                                    attr(A.GEN_AI_USAGE_INPUT_TOKENS, intValue="1200"),
                                    attr(A.GEN_AI_USAGE_OUTPUT_TOKENS, intValue=34),
                                ],
                                "events": [
                                    {
                                        "name": "retry",
                                        "timeUnixNano": "1700000001500000000",
                                        "attributes": [attr("attempt", intValue="2")],
                                    }
                                ],
                            },
                        ],
                    }
                ],
            }
        ]
    }


def post_json(client: httpx.Client, payload: dict[str, Any], compress: bool) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if compress:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    return client.post("/v1/traces", content=body, headers=headers)


def run_demo(home: Path) -> dict[str, Any]:
    """``agentops-otel demo`` into ``home`` (the openai SDK against the fake LLM server), then
    ``agentops-otel export`` of its session as OTLP/JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(AGENTOPS_OTEL_HOME=str(home), COLUMNS="200", NO_COLOR="1")
    demo = subprocess.run(
        [sys.executable, "-m", "agentops_otel.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert demo.returncode == 0, demo.stderr + demo.stdout
    from agentops_otel.store import Store

    with Store.open(home) as store:
        (session,) = store.list_sessions()
    exported = subprocess.run(
        [sys.executable, "-m", "agentops_otel.cli", "export", session.id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert exported.returncode == 0, exported.stderr
    return json.loads(exported.stdout)


def json_span(
    trace: str,
    span_id: int,
    name: str,
    attrs: dict[str, Any],
    parent: int | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> dict[str, Any]:
    """One OTLP/JSON span (string, int, float, bool and list attributes) as another language
    sends it."""

    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        if isinstance(v, (list, tuple)):
            return {"arrayValue": {"values": [value(item) for item in v]}}
        return {"stringValue": str(v)}

    start = start_ns if start_ns is not None else time.time_ns()
    span = {
        "traceId": trace,
        "spanId": f"{span_id:016x}",
        "name": name,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end_ns or start + 10**6),
        "attributes": [{"key": k, "value": value(v)} for k, v in attrs.items()],
    }
    if parent is not None:
        span["parentSpanId"] = f"{parent:016x}"
    return span


def json_request(spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]}
