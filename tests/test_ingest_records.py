"""``serve``'s ingest decodes OTLP straight to the store's span records: the same records the
store makes of the SDK's own spans (protobuf and JSON), every resource's service and scope on its
own spans, a mixed batch of conventions normalized span by span, and malformed spans handled
within bounds (a span without ids refuses its whole request; odd values and keys are read or
skipped, never raised)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.testclient import TestClient

from agentops_otel import _otlp_codec as codec
from agentops_otel import semconv as A
from agentops_otel.dashboard import create_app
from agentops_otel.store import Store
from agentops_otel.store._normalize import MAX_MESSAGES
from agentops_otel.store._writer import record_of

PROTOBUF = {"content-type": "application/x-protobuf"}
TRACE = 0x5B8EFFF798038103D269B633813FC60C


def _sdk_spans() -> list[Any]:
    """Every span kind, the three status codes, events, arrays, two scopes, one resource."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "records-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    first, second = provider.get_tracer("scope-a", "1.0"), provider.get_tracer("scope-b")
    with first.start_as_current_span("root", kind=SpanKind.SERVER) as root:
        root.set_attributes({"s": "x", "i": 7, "f": 0.5, "b": False, "l": ["a", "b"], "n": [1, 2]})
        for kind in (SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL):
            with second.start_as_current_span(f"child {kind.name}", kind=kind) as child:
                child.add_event("gen_ai.choice", {"index": 1, "tags": ["x"]}, timestamp=5)
                child.add_event("bare")
        with first.start_as_current_span("failed") as failed:
            failed.set_status(StatusCode.ERROR, "boom")
        with first.start_as_current_span("fine") as fine:
            fine.set_status(StatusCode.OK)
    provider.shutdown()
    return list(exporter.get_finished_spans())


def _as_lists(record: tuple) -> tuple:
    """The SDK keeps arrays as tuples, OTLP decodes them as lists: compare them as lists."""

    def lists(attrs: Any) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.items()}

    events = [(name, time_ns, lists(attrs)) for name, time_ns, attrs in record[10]]
    return (*record[:9], lists(record[9]), events, *record[11:])


def test_records_are_what_the_store_makes_of_the_sdk_spans() -> None:
    sent = _sdk_spans()
    request = encode_spans(sent)
    expected = [_as_lists(record_of(span)) for span in sent]
    assert {r[4] for r in expected} == {"SERVER", "CLIENT", "PRODUCER", "CONSUMER", "INTERNAL"}
    assert {(r[7], r[8]) for r in expected} == {("UNSET", None), ("ERROR", "boom"), ("OK", None)}
    # (the encoder groups spans by scope: compare in one order)
    by_protobuf = codec.decode_protobuf_records(request.SerializeToString())
    assert sorted(by_protobuf, key=str) == sorted(expected, key=str)
    # the plain protobuf JSON mapping (base64 ids, enum names, int64 as strings) reads the same
    by_json = codec.decode_json_records(json_format.MessageToJson(request).encode())
    assert sorted(by_json, key=str) == sorted(expected, key=str)


def _resource_spans(service: Any, scopes: dict[str, list[Span]]) -> ResourceSpans:
    attributes = [] if service is None else [KeyValue(key="service.name", value=service)]
    return ResourceSpans(
        resource=PbResource(attributes=attributes),
        scope_spans=[
            ScopeSpans(scope=InstrumentationScope(name=name, version="2.0"), spans=spans)
            for name, spans in scopes.items()
        ],
    )


def _pb_span(span_id: int, name: str, attributes: dict[str, Any], **fields: Any) -> Span:
    values = [KeyValue(key=k, value=_any(v)) for k, v in attributes.items()]
    return Span(
        trace_id=fields.pop("trace_id", TRACE.to_bytes(16, "big")),
        span_id=span_id.to_bytes(8, "big"),
        name=name,
        start_time_unix_nano=1_700_000_000_000_000_000 + span_id,
        end_time_unix_nano=1_700_000_001_000_000_000,
        attributes=values,
        **fields,
    )


def _any(value: Any) -> AnyValue:
    if isinstance(value, AnyValue):
        return value
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    return AnyValue(string_value=str(value))


SESSION = "mixed-1"
# one LLM call in each convention, all of one session (model, input and output tokens)
CALLS: dict[str, tuple[dict[str, Any], tuple[str, int, int]]] = {
    "ours": (
        {
            A.SPAN_KIND: A.KIND_LLM,
            A.SESSION_ID: SESSION,
            A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            A.GEN_AI_USAGE_INPUT_TOKENS: 10,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 1,
        },
        ("gpt-4o-mini", 10, 1),
    ),
    "openinference": (
        {
            "openinference.span.kind": "LLM",
            "session.id": SESSION,
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 20,
            "llm.token_count.completion": 2,
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "refund for invoice 4411",
        },
        ("gpt-4o", 20, 2),
    ),
    "openllmetry": (
        {
            "llm.request.type": "chat",
            "traceloop.association.properties.session_id": SESSION,
            "gen_ai.request.model": "claude-3-5-haiku",
            "gen_ai.usage.prompt_tokens": 30,
            "gen_ai.usage.completion_tokens": 3,
        },
        ("claude-3-5-haiku", 30, 3),
    ),
    "vercel": (
        {
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.telemetry.metadata.sessionId": SESSION,
            "ai.model.id": "gpt-4.1-nano",
            "ai.model.provider": "openai.chat",
            "ai.usage.inputTokens": 40,
            "ai.usage.outputTokens": 4,
        },
        ("gpt-4.1-nano", 40, 4),
    ),
}


def _post(tmp_path: Path, request: ExportTraceServiceRequest) -> tuple[int, str]:
    app = create_app(str(tmp_path / "traces.db"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.post("/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    return response.status_code, response.text


def test_a_mixed_batch_keeps_each_resource_and_scope_and_normalizes_each_span(
    tmp_path: Path,
) -> None:
    spans = {
        name: _pb_span(i + 2, f"chat {name}", attrs)
        for i, (name, (attrs, _)) in enumerate(CALLS.items())
    }
    root = _pb_span(1, "session", {A.SPAN_KIND: A.KIND_SESSION, A.SESSION_ID: SESSION})
    plain = _pb_span(9, "GET /health", {"http.method": "GET", A.SESSION_ID: SESSION})
    request = ExportTraceServiceRequest(
        resource_spans=[
            _resource_spans(
                AnyValue(string_value="svc-a"),
                {"ours-scope": [root, spans["ours"]], "oi-scope": [spans["openinference"]]},
            ),
            _resource_spans(AnyValue(int_value=7), {"ll-scope": [spans["openllmetry"], plain]}),
            _resource_spans(None, {"": [spans["vercel"]]}),
        ]
    )
    assert _post(tmp_path, request)[0] == 200
    with Store.open(tmp_path / "traces.db") as store:
        stored = {s.name: s for s in store.session_spans(SESSION)}
        session = store.get_session(SESSION)
    assert {name: (s.service, s.scope) for name, s in stored.items()} == {
        "session": ("svc-a", "ours-scope"),
        "chat ours": ("svc-a", "ours-scope"),
        "chat openinference": ("svc-a", "oi-scope"),
        "chat openllmetry": ("7", "ll-scope"),
        "GET /health": ("7", "ll-scope"),
        "chat vercel": (None, ""),
    }
    for name, (_, (model, tokens_in, tokens_out)) in CALLS.items():
        span = stored[f"chat {name}"]
        assert (span.agentops_kind, span.model) == (A.KIND_LLM, model), name
        assert (span.input_tokens, span.output_tokens) == (tokens_in, tokens_out), name
    assert stored["GET /health"].agentops_kind is None
    assert json.loads(stored["chat openinference"].attributes[A.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "refund for invoice 4411"}]}
    ]
    assert session is not None
    assert (session.llm_calls, session.input_tokens, session.output_tokens) == (4, 100, 10)


def test_a_span_without_ids_refuses_its_whole_request(tmp_path: Path) -> None:
    good = _pb_span(1, "good", {A.SPAN_KIND: A.KIND_SESSION, A.SESSION_ID: "s-bad"})
    no_trace = _pb_span(2, "no trace id", {A.SESSION_ID: "s-bad"}, trace_id=b"")
    request = ExportTraceServiceRequest(
        resource_spans=[_resource_spans(None, {"s": [good, no_trace]})]
    )
    status, text = _post(tmp_path, request)
    assert status == 400 and "no trace or span id" in text
    with Store.open(tmp_path / "traces.db") as store:
        assert store.session_spans("s-bad") == []  # nothing of the request was written


def _nested(depth: int) -> AnyValue:
    value = AnyValue(string_value="leaf")
    for _ in range(depth):
        value = AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="k", value=value)]))
    return value


def test_odd_values_and_keys_are_read_within_bounds(tmp_path: Path) -> None:
    messages = {f"gen_ai.prompt.{i}.content": f"message {i}" for i in range(MAX_MESSAGES + 500)}
    odd_keys = {
        "gen_ai.prompt.².content": "a superscript is a digit but no number",
        "gen_ai.prompt." + "9" * 5000 + ".content": "an index of 5,000 digits",
        "gen_ai.prompt.٣.role": "assistant",  # Arabic-Indic 3: a decimal int() reads
    }
    attributes = {"llm.request.type": "chat", A.SESSION_ID: "s-odd", **messages, **odd_keys}
    span = _pb_span(1, "chat", attributes, kind=99, status=Status(code=9, message="?"))
    span.attributes.extend(
        [KeyValue(key="empty", value=AnyValue()), KeyValue(key="deep", value=_nested(20))]
    )
    request = ExportTraceServiceRequest(resource_spans=[_resource_spans(None, {"s": [span]})])
    assert _post(tmp_path, request)[0] == 200
    with Store.open(tmp_path / "traces.db") as store:
        (stored,) = store.session_spans("s-odd")
    assert (stored.kind, stored.status_code, stored.status_message) == ("INTERNAL", "UNSET", None)
    assert stored.attributes["empty"] is None
    deep = stored.attributes["deep"]
    for _ in range(20):
        deep = deep["k"]
    assert deep == "leaf"
    mapped = json.loads(stored.attributes[A.GEN_AI_INPUT_MESSAGES])
    assert len(mapped) == MAX_MESSAGES  # indexes past the bound are not read
    assert mapped[3]["role"] == "assistant"
    assert [m["parts"][0]["content"] for m in mapped[:2]] == ["message 0", "message 1"]
    assert stored.attributes["gen_ai.prompt.².content"] == odd_keys["gen_ai.prompt.².content"]


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (lengths here stay below 2**14: two varint bytes)."""
    size = len(payload)
    length = bytes([size]) if size < 0x80 else bytes([size & 0x7F | 0x80, size >> 7])
    return bytes([number << 3 | 2]) + length + payload


def test_a_value_nested_past_the_parser_limit_is_a_400(tmp_path: Path) -> None:
    value = _field(1, b"leaf")  # AnyValue.string_value
    for _ in range(200):  # AnyValue.kvlist_value -> KeyValueList.values -> KeyValue.value
        value = _field(6, _field(1, _field(1, b"k") + _field(2, value)))
    span = _pb_span(1, "deep", {A.SESSION_ID: "s-deep"}).SerializeToString()
    span += _field(9, _field(1, b"deep") + _field(2, value))  # Span.attributes: one more
    body = _field(1, _field(2, _field(2, span)))  # request.resource_spans.scope_spans.spans
    with TestClient(create_app(str(tmp_path / "traces.db")), base_url="http://127.0.0.1") as c:
        response = c.post("/v1/traces", content=body, headers=PROTOBUF)
        assert response.status_code == 400, response.text
        assert "not an OTLP protobuf trace request" in response.json()["error"]
        assert c.get("/").status_code == 200  # the server carries on


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_json_and_protobuf_bodies_store_the_same_spans(
    tmp_path: Path, encoding: str | None
) -> None:
    import gzip

    request = encode_spans(_sdk_spans())
    bodies = {
        "protobuf": (request.SerializeToString(), PROTOBUF),
        "json": (json_format.MessageToJson(request).encode(), {"content-type": "application/json"}),
    }
    stored = {}
    for label, (body, headers) in bodies.items():
        if encoding:
            body, headers = gzip.compress(body), {**headers, "content-encoding": encoding}
        home = tmp_path / label
        with TestClient(create_app(str(home / "traces.db")), base_url="http://127.0.0.1") as c:
            assert c.post("/v1/traces", content=body, headers=headers).status_code == 200
        with Store.open(home / "traces.db") as store:
            (session,) = store.list_sessions(limit=5)
            stored[label] = sorted(
                (
                    s.span_id,
                    s.parent_span_id,
                    s.name,
                    s.kind,
                    s.status_code,
                    s.service,
                    s.scope,
                    json.dumps(s.attributes, sort_keys=True),
                    json.dumps(s.events, sort_keys=True),
                )
                for s in store.session_spans(session.id)
            )
    assert len(stored["protobuf"]) == 7
    assert stored["json"] == stored["protobuf"]
