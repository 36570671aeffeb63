"""The one OTLP codec: what the SDK's own OTLP encoder sends decodes to the spans it was given,
and a stored span encoded as OTLP/JSON decodes back to itself."""

from __future__ import annotations

import gzip
import math

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from agentops_otel import _otlp_codec as codec
from agentops_otel.store import SpanRow


def _sdk_spans() -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "codec-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("codec-scope", "1.2")
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent:
        parent.set_attributes({"s": "x", "i": 7, "f": 0.5, "b": True, "list": ["a", "b"]})
        with tracer.start_as_current_span("child", kind=SpanKind.CLIENT) as child:
            child.add_event("gen_ai.choice", {"index": 1})
            child.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()
    return list(exporter.get_finished_spans())


def _summary(span) -> tuple:
    ctx, parent = span.get_span_context(), span.parent
    # the SDK keeps sequences as tuples; decoded OTLP arrays are lists
    attributes = {k: list(v) if isinstance(v, tuple) else v for k, v in span.attributes.items()}
    return (
        span.name,
        ctx.trace_id,
        ctx.span_id,
        parent.span_id if parent else None,
        span.kind,
        span.start_time,
        span.end_time,
        attributes,
        [(e.name, dict(e.attributes), e.timestamp) for e in span.events],
        span.status.status_code,
        span.status.description,
        span.resource.attributes.get("service.name"),
        span.instrumentation_scope.name,
        span.instrumentation_scope.version,
    )


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_protobuf_from_the_sdk_encoder_decodes_to_the_spans_sent(encoding):
    sent = _sdk_spans()
    body = encode_spans(sent).SerializeToString()
    if encoding:
        body = gzip.compress(body)
    decoded = codec.decode_protobuf(codec.decompress(body, encoding))
    assert sorted(map(_summary, decoded), key=str) == sorted(map(_summary, sent), key=str)


def _row(**fields) -> SpanRow:
    base = dict(
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        parent_span_id=None,
        session_id=None,
        name="chat gpt-4o",
        kind="CLIENT",
        agentops_kind="llm",
        start_ns=1_000,
        end_ns=2_000,
        status_code="ERROR",
        status_message="rate limited",
        model=None,
        provider=None,
        input_tokens=None,
        output_tokens=None,
        cost_usd=None,
        cost_source=None,
        service="svc",
        scope="agentops_openai",
        attributes={"i": 3, "f": 1.5, "inf": math.inf, "b": False, "l": [1, 2], "s": "x"},
        events=[{"name": "exception", "time_ns": 1_500, "attributes": {"k": "v"}}],
    )
    return SpanRow(**{**base, **fields})


def test_stored_spans_round_trip_through_otlp_json():
    import json

    rows = [
        _row(),
        _row(
            span_id="00f067aa0ba902b7",
            parent_span_id="b7ad6b7169203331",
            kind="INTERNAL",
            status_code="UNSET",
            status_message=None,
            events=[],
            service=None,
            scope=None,
        ),
    ]
    decoded = codec.decode_json(json.dumps(codec.encode_json(rows)).encode())
    assert [
        (format(s.context.span_id, "016x"), s.parent and format(s.parent.span_id, "016x"))
        for s in decoded
    ] == [(r.span_id, r.parent_span_id) for r in rows]
    first, second = decoded
    assert format(first.context.trace_id, "032x") == rows[0].trace_id
    assert first.kind is SpanKind.CLIENT and second.kind is SpanKind.INTERNAL
    assert dict(first.attributes) == rows[0].attributes
    assert (first.status.status_code, first.status.description) == (
        StatusCode.ERROR,
        "rate limited",
    )
    assert second.status.status_code is StatusCode.UNSET
    assert [(e.name, dict(e.attributes), e.timestamp) for e in first.events] == [
        ("exception", {"k": "v"}, 1_500)
    ]
    assert (first.start_time, first.end_time) == (1_000, 2_000)
    assert first.resource.attributes.get("service.name") == "svc"
    assert first.instrumentation_scope.name == "agentops_openai"
    assert "service.name" not in second.resource.attributes


def test_bad_bodies_are_codec_errors_not_crashes():
    with pytest.raises(codec.OtlpError):
        codec.decode_protobuf(b"\xff\xff\xff")
    with pytest.raises(codec.OtlpError):
        codec.decode_json(b"[1, 2]")
    with pytest.raises(codec.OtlpError):
        codec.decompress(b"not gzip", "gzip")
    with pytest.raises(codec.OtlpError):
        codec.decompress(b"", "br")
