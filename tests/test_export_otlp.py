"""OTLP export configured by ``OTEL_EXPORTER_OTLP_*`` and by settings; several destinations at once;
the local store on only when nothing else is configured."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace import TracerProvider

from agentops_otel import semconv as A
from agentops_otel._config import Settings
from agentops_otel.export import build_span_processors, local_store_enabled
from agentops_otel.store import Store
from agentops_otel.testing.otlp_receiver import OtlpReceiver

_OTEL_VARS = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "AGENTOPS_OTEL_HOME",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path: Path) -> None:
    for name in _OTEL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def _send(settings: Settings, n: int = 3) -> list[str]:
    provider = TracerProvider(shutdown_on_exit=False)
    processors = build_span_processors(settings)
    for processor in processors:
        provider.add_span_processor(processor)
    tracer = provider.get_tracer("otlp-test")
    for i in range(n):
        with tracer.start_as_current_span(
            f"chat m{i}",
            attributes={
                A.SPAN_KIND: A.KIND_LLM,
                A.SESSION_ID: "sess-1",
                A.COST_USD: 0.125,
                A.GEN_AI_USAGE_INPUT_TOKENS: 42,
                A.SESSION_TAGS: ["a", "b"],
            },
        ):
            pass
    provider.shutdown()
    return [p.name for p in processors]


def test_standard_env_vars_configure_endpoint_headers_and_compression(monkeypatch) -> None:
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=agents,x-tenant=t1")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
        names = _send(Settings())
        assert receiver.wait_for(3)
    assert names == ["otlp"]  # an OTLP destination turns the default local store off
    headers = receiver.requests[0]
    assert (headers["x-team"], headers["x-tenant"]) == ("agents", "t1")
    assert headers["content-encoding"] == "gzip"
    span = receiver.spans[0]
    assert span["attributes"][A.COST_USD] == 0.125
    assert span["attributes"][A.GEN_AI_USAGE_INPUT_TOKENS] == 42
    assert span["attributes"][A.SESSION_TAGS] == ["a", "b"]


def test_traces_specific_endpoint_is_used_as_is(monkeypatch) -> None:
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")  # wrong on purpose
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url + "/custom/v1/traces")
        _send(Settings(), n=2)
        assert receiver.wait_for(2)
    assert {s["name"] for s in receiver.spans} == {"chat m0", "chat m1"}


def test_settings_override_the_environment(monkeypatch) -> None:
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        _send(
            Settings(
                otlp_endpoint=receiver.url,
                otlp_protocol="http/protobuf",
                otlp_headers={"x-from": "init"},
                extra={"otlp_compression": "deflate", "otlp_timeout_s": 3.0},
            )
        )
        assert receiver.wait_for(3)
    assert receiver.requests[0]["x-from"] == "init"
    assert receiver.requests[0]["content-encoding"] == "deflate"


def test_several_destinations_at_once(tmp_path: Path) -> None:
    with OtlpReceiver() as first, OtlpReceiver() as second:
        extra = HttpExporter(endpoint=second.url + "/v1/traces")
        names = _send(
            Settings(
                otlp_endpoint=first.url,
                exporters=(extra,),
                local_store=True,
                store_path=str(tmp_path),
            )
        )
        assert first.wait_for(3) and second.wait_for(3)
    assert names == ["local-store", "otlp", "OTLPSpanExporter"]
    assert len(first.spans) == len(second.spans) == 3
    with Store.open(tmp_path) as store:
        (session,) = store.list_sessions()
        assert session.cost_usd == pytest.approx(0.375) and session.llm_calls == 3


def test_local_store_default_only_without_other_destinations(monkeypatch) -> None:
    assert local_store_enabled(Settings())
    assert not local_store_enabled(Settings(otlp_endpoint="http://127.0.0.1:4318"))
    assert not local_store_enabled(Settings(api_key="k"))
    assert not local_store_enabled(Settings(exporters=(HttpExporter(),)))
    assert local_store_enabled(Settings(otlp_endpoint="http://x", local_store=True))
    assert not local_store_enabled(Settings(local_store=False))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces")
    assert not local_store_enabled(Settings())


def test_grpc_protocol_builds_the_grpc_exporter(monkeypatch) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcExporter,
    )

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
    (processor,) = build_span_processors(Settings(otlp_endpoint="http://127.0.0.1:4317"))
    assert isinstance(processor.exporter, GrpcExporter)
    processor.shutdown()


def test_unsupported_protocol_falls_back_to_http_with_a_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="agentops_otel"), OtlpReceiver() as receiver:
        _send(Settings(otlp_endpoint=receiver.url, otlp_protocol="http/json"), n=1)
        assert receiver.wait_for(1)
    assert any("http/json" in r.getMessage() for r in caplog.records)


def test_default_local_store_lands_in_the_per_user_path(tmp_path: Path) -> None:
    assert _send(Settings()) == ["local-store"]
    with Store.open() as store:
        assert store.path == tmp_path / "xdg" / "agentops-otel" / "traces.db"
        assert store.list_sessions()[0].llm_calls == 3
