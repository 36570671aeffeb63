"""``serve``'s other OTLP endpoints: ``/v1/logs`` (content events attached to their span, whichever
arrives first) and ``/v1/metrics`` (accepted, dropped); ``init()`` under ``OTEL_SDK_DISABLED``
and ``OTEL_METRICS_EXPORTER``, and pointed at ``serve`` with no errors printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _dashboard_support import start_server, stop_server
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from starlette.testclient import TestClient

from agentops_otel import semconv as A
from agentops_otel.dashboard import create_app
from agentops_otel.store import Store
from conftest import run_python

TRACE, SPAN = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
PROTOBUF = {"content-type": "application/x-protobuf"}


def _span_json() -> bytes:
    attrs = [
        {"key": k, "value": v}
        for k, v in (
            ("gen_ai.operation.name", {"stringValue": "chat"}),
            ("gen_ai.request.model", {"stringValue": "gpt-4o-mini"}),
            ("gen_ai.usage.input_tokens", {"intValue": "12"}),
            ("gen_ai.usage.output_tokens", {"intValue": "3"}),
        )
    ]
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "traceId": TRACE,
                                    "spanId": SPAN,
                                    "name": "chat gpt-4o-mini",
                                    "kind": 3,
                                    "startTimeUnixNano": "1700000000000000000",
                                    "endTimeUnixNano": "1700000001000000000",
                                    "attributes": attrs,
                                }
                            ]
                        }
                    ]
                }
            ]
        }
    ).encode()


def _logs_protobuf() -> bytes:
    """The legacy per-message events of the official instrumentations, as log records."""

    def body(**fields: str) -> AnyValue:
        return AnyValue(
            kvlist_value=KeyValueList(
                values=[KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in fields.items()]
            )
        )

    def record(name: str, value: AnyValue) -> LogRecord:
        return LogRecord(
            event_name=name,
            body=value,
            time_unix_nano=1700000000500000000,
            trace_id=bytes.fromhex(TRACE),
            span_id=bytes.fromhex(SPAN),
        )

    choice = AnyValue(
        kvlist_value=KeyValueList(
            values=[
                KeyValue(key="index", value=AnyValue(int_value=0)),
                KeyValue(key="message", value=body(role="assistant", content="Bonjour")),
            ]
        )
    )
    outside = LogRecord(event_name="gen_ai.user.message", body=body(content="no span"))
    request = ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                scope_logs=[
                    ScopeLogs(
                        log_records=[
                            record("gen_ai.user.message", body(content="Say hi in French")),
                            record("gen_ai.choice", choice),
                            outside,
                        ]
                    )
                ]
            )
        ]
    )
    return request.SerializeToString()


def _client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(str(tmp_path / "traces.db")), base_url="http://127.0.0.1")


@pytest.mark.parametrize("logs_first", [False, True], ids=["span-first", "logs-first"])
def test_logs_become_the_content_of_their_span(tmp_path, logs_first):
    client = _client(tmp_path)
    sends = [
        lambda: client.post(
            "/v1/traces", content=_span_json(), headers={"content-type": "application/json"}
        ),
        lambda: client.post("/v1/logs", content=_logs_protobuf(), headers=PROTOBUF),
    ]
    for send in reversed(sends) if logs_first else sends:
        response = send()
        assert response.status_code == 200, response.text
    with Store.open(tmp_path / "traces.db") as store:
        (span,) = store.session_spans(TRACE)
        hits = store.list_sessions(limit=5, q="Bonjour")
    assert [e["name"] for e in span.events] == ["gen_ai.user.message", "gen_ai.choice"]
    assert json.loads(span.attributes[A.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hi in French"}]}
    ]
    assert json.loads(span.attributes[A.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Bonjour"}]}
    ]
    assert [s.id for s in hits] == [TRACE]  # searchable like content sent on the span


def test_logs_json_and_bad_bodies(tmp_path):
    client = _client(tmp_path)
    record = {
        "traceId": TRACE,
        "spanId": SPAN,
        "eventName": "gen_ai.client.inference.operation.details",
        "attributes": [
            {
                "key": A.GEN_AI_INPUT_MESSAGES,
                "value": {"stringValue": '[{"role":"user","parts":[]}]'},
            }
        ],
    }
    body = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]})
    json_headers = {"content-type": "application/json"}
    response = client.post("/v1/logs", content=body, headers=json_headers)
    assert (response.status_code, response.json()) == (200, {})
    client.post("/v1/traces", content=_span_json(), headers=json_headers)
    with Store.open(tmp_path / "traces.db") as store:
        (span,) = store.session_spans(TRACE)
    assert span.attributes[A.GEN_AI_INPUT_MESSAGES] == '[{"role":"user","parts":[]}]'
    assert client.post("/v1/logs", content=b"\x00garbage", headers=PROTOBUF).status_code == 400
    assert (
        client.post("/v1/logs", content=b"{}", headers={"content-type": "text/plain"}).status_code
        == 415
    )


def test_metrics_are_accepted_and_dropped(tmp_path):
    client = _client(tmp_path)
    response = client.post(
        "/v1/metrics", content=ExportMetricsServiceRequest().SerializeToString(), headers=PROTOBUF
    )
    assert response.status_code == 200
    ExportMetricsServiceResponse.FromString(response.content)
    response = client.post(
        "/v1/metrics", content=b"{}", headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.json()) == (200, {})


APP = """
import agentops_otel as ao
from opentelemetry import metrics, trace
from agentops_otel import _tracer
from agentops_otel.genai import start_llm_call
ao.init(instrument=False, local_store=False)
print("tracer", type(trace.get_tracer_provider()).__name__)
print("meter", type(metrics.get_meter_provider()).__name__)
call = start_llm_call(_tracer.tracer(), operation="chat", provider="openai", model="gpt-4o-mini")
call.set_usage(120, 30)
call.end()
ao.end_session()
"""


@pytest.fixture
def serve(tmp_path):
    server = start_server(tmp_path / "home", token=None)
    yield server
    stop_server(server)


def _run(serve, **env: str):
    result = run_python(APP, env={"OTEL_EXPORTER_OTLP_ENDPOINT": serve.url, **env})
    assert result.returncode == 0, result.stderr
    return result


def test_init_exports_traces_and_metrics_to_serve_without_errors(serve):
    result = _run(serve)
    assert "meter MeterProvider" in result.stdout
    assert result.stderr == ""  # no "Failed to export" for the metrics
    with Store.open(serve.home) as store:
        (session,) = store.list_sessions(limit=5)
    assert (session.llm_calls, session.input_tokens) == (1, 120)


def test_init_honours_otel_metrics_exporter_none(serve):
    result = _run(serve, OTEL_METRICS_EXPORTER="none")
    assert "meter _ProxyMeterProvider" in result.stdout


def test_init_honours_otel_sdk_disabled(serve):
    result = _run(serve, OTEL_SDK_DISABLED="true")
    assert "tracer ProxyTracerProvider" in result.stdout
    with Store.open(serve.home) as store:
        assert store.list_sessions(limit=5) == []
