"""With OTLP configured and no meter provider set by the app, init() exports our metrics too."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from agentops_otel import semconv as A
from conftest import run_python


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_metrics_reach_the_otlp_endpoint_at_exit():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = run_python(
            """
import agentops_otel as ao
from agentops_otel import _tracer
from agentops_otel.genai import start_llm_call
ao.init(instrument=False, local_store=False)
call = start_llm_call(_tracer.tracer(), operation="chat", provider="openai",
                      model="gpt-4o-mini")
call.set_usage(120, 30)
call.end()
""",
            env={"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}"},
        )
        assert result.returncode == 0, result.stderr
    finally:
        server.shutdown()
    names = set()
    for path, body in _Collector.received:
        if path == "/v1/metrics":
            request = ExportMetricsServiceRequest.FromString(body)
            names |= {
                m.name
                for rm in request.resource_metrics
                for sm in rm.scope_metrics
                for m in sm.metrics
            }
    assert {A.METRIC_TOKEN_USAGE, A.METRIC_OPERATION_DURATION, A.METRIC_COST} <= names
    assert any(path == "/v1/traces" for path, _ in _Collector.received)
