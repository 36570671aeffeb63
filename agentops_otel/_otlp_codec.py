"""The one OTLP codec: OTLP/HTTP trace requests (protobuf or JSON, optionally gzip/deflate)
decoded to SDK ``ReadableSpan`` s, so they go through the store's own writer (priced, rolled up and
deduplicated like local spans); log requests decoded to the span events their records stand for
(prompts and completions sent as logs); stored spans encoded as an OTLP/JSON export request.

Used by the dashboard's ingest, the CLI's ``export`` and the test receiver
(:mod:`agentops_otel.testing.otlp_receiver`).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from agentops_otel import _jsonload

if TYPE_CHECKING:
    from agentops_otel.store import SpanRow
    from agentops_otel.store._writer import SpanRecord

MAX_DECODED_BYTES = 256 * 1024 * 1024  # a decompressed body larger than this is refused


class OtlpError(ValueError):
    """The request body is not an OTLP trace export this endpoint can read."""


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as the Python value the SDK was given."""
    which = value.WhichOneof("value")
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return None if which is None else getattr(value, which)


def decompress(body: bytes, encoding: str | None) -> bytes:
    """Undo ``Content-Encoding`` gzip/deflate, refusing bodies that expand past the limit."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise OtlpError(f"unsupported Content-Encoding {encoding!r}")
    # wbits: 16+ for a gzip header, 15 for zlib (what HTTP calls deflate)
    inflater = zlib.decompressobj(31 if encoding == "gzip" else 15)
    try:
        out = inflater.decompress(body, MAX_DECODED_BYTES)
    except zlib.error as exc:
        raise OtlpError(f"bad {encoding} body: {exc}") from None
    if inflater.unconsumed_tail:
        raise OtlpError("decompressed body too large")
    return out


# OTLP numbers span kinds from 1 (INTERNAL) and status codes from 0 (UNSET); the names are the
# SDK's (``SpanKind`` / ``StatusCode`` member names). Unknown numbers read as INTERNAL / UNSET.
_KIND_NAMES = ("INTERNAL", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_CODE_NAMES = ("UNSET", "OK", "ERROR")


def _kind_name(value: int) -> str:
    return _KIND_NAMES[value] if 0 <= value < len(_KIND_NAMES) else "INTERNAL"


def _code_name(value: int) -> str:
    return _CODE_NAMES[value] if 0 <= value < len(_CODE_NAMES) else "UNSET"


@dataclass(frozen=True)
class SpanGroup:
    """The spans of one resource and instrumentation scope of a request, as the store's plain
    span records (:data:`agentops_otel.store._writer.SpanRecord`)."""

    service: str | None
    scope: str
    scope_version: str | None
    records: list[SpanRecord]


def _record(
    group: tuple[str | None, str],
    name: str,
    ids: tuple[int, int, int],
    kind: int,
    times: tuple[int, int],
    status: tuple[int, str | None],
    attributes: dict[str, Any],
    events: list[tuple[str, int, dict[str, Any]]],
) -> SpanRecord:
    """One span record; ``ids`` are trace, span and parent span id (0: none), ``times`` start
    and end (0: not ended), ``group`` the service and scope name."""
    trace_id, span_id, parent_id = ids
    if not trace_id or not span_id:
        raise OtlpError(f"span {name!r} has no trace or span id")
    code = _code_name(status[0])
    message = status[1] if code == "ERROR" and status[1] else None
    start, end = times
    return (
        trace_id,
        span_id,
        parent_id,
        name,
        _kind_name(kind),
        start,
        end or None,
        code,
        message,
        attributes,
        events,
        *group,
    )


def records(groups: Iterable[SpanGroup]) -> list[SpanRecord]:
    """The span records of all groups, in request order."""
    return [record for group in groups for record in group.records]


def readable_spans(groups: Iterable[SpanGroup]) -> list[ReadableSpan]:
    """The groups' spans as SDK ``ReadableSpan`` s (one ``Resource`` and scope per group)."""
    spans = []
    for group in groups:
        resource = Resource({SERVICE_NAME: group.service} if group.service is not None else {})
        scope = InstrumentationScope(group.scope, group.scope_version)
        for record in group.records:
            trace_id, span_id, parent_id, name, kind, start, end, code, message = record[:9]
            attrs, events = record[9], record[10]
            spans.append(
                ReadableSpan(
                    name=name,
                    context=SpanContext(trace_id, span_id, False, TraceFlags(1)),
                    parent=SpanContext(trace_id, parent_id, True) if parent_id else None,
                    resource=resource,
                    attributes=attrs,
                    events=[Event(n, a, t) for n, t, a in events],
                    kind=SpanKind[kind],
                    status=Status(StatusCode[code], message),
                    start_time=start,
                    end_time=end,
                    instrumentation_scope=scope,
                )
            )
    return spans


def _service(attributes: Mapping[str, Any]) -> str | None:
    service = attributes.get(SERVICE_NAME)
    return str(service) if service is not None else None


# --- protobuf --------------------------------------------------------------------------------
def _parse(request: Any, body: bytes, what: str) -> Any:
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise OtlpError(f"not an OTLP protobuf {what} request: {exc}") from None
    return request


_SCALARS = frozenset(("string_value", "int_value", "double_value", "bool_value", "bytes_value"))


def _pb_attributes(items: Iterable[Any]) -> dict[str, Any]:
    """``KeyValue`` s as a dict (scalars read in line: this runs for every attribute)."""
    out = {}
    for kv in items:
        value = kv.value
        which = value.WhichOneof("value")
        out[kv.key] = getattr(value, which) if which in _SCALARS else any_value(value)
    return out


def _pb_groups(body: bytes) -> Iterator[SpanGroup]:
    """The groups of an ``ExportTraceServiceRequest``, walked once over the parsed message."""
    request = _parse(ExportTraceServiceRequest(), body, "trace")
    from_bytes = int.from_bytes
    for resource_spans in request.resource_spans:
        service = _service(_pb_attributes(resource_spans.resource.attributes))
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            group = (service, scope.name)
            yield SpanGroup(
                service,
                scope.name,
                scope.version or None,
                [
                    _record(
                        group,
                        span.name,
                        (
                            from_bytes(span.trace_id, "big"),
                            from_bytes(span.span_id, "big"),
                            from_bytes(span.parent_span_id, "big"),
                        ),
                        span.kind,
                        (span.start_time_unix_nano, span.end_time_unix_nano),
                        (span.status.code, span.status.message),
                        _pb_attributes(span.attributes),
                        [
                            (e.name, e.time_unix_nano, _pb_attributes(e.attributes))
                            for e in span.events
                        ],
                    )
                    for span in scope_spans.spans
                ],
            )


def decode_protobuf_records(body: bytes) -> list[SpanRecord]:
    """An ``ExportTraceServiceRequest`` (binary protobuf) as the store's span records."""
    return records(_pb_groups(body))


def decode_protobuf(body: bytes) -> list[ReadableSpan]:
    """An ``ExportTraceServiceRequest`` in the binary protobuf encoding."""
    return readable_spans(_pb_groups(body))


# --- JSON (the OTLP protobuf JSON mapping: hex ids, int64 as strings, camelCase) ---------------
def _get(obj: Mapping[str, Any], camel: str, default: Any = None) -> Any:
    """A field by its JSON (camelCase) name, else its proto (snake_case) name."""
    if camel in obj:
        return obj[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(snake, default)


def _json_value(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    for key, convert in (
        ("stringValue", str),
        ("boolValue", bool),
        ("intValue", int),
        ("doubleValue", float),
    ):
        found = _get(value, key)
        if found is not None:
            return convert(found)
    array = _get(value, "arrayValue")
    if array is not None:
        return [_json_value(v) for v in array.get("values") or []]
    kvlist = _get(value, "kvlistValue")
    if kvlist is not None:
        return _json_attributes(kvlist.get("values"))
    raw = _get(value, "bytesValue")
    return None if raw is None else base64.b64decode(raw)


def _json_attributes(items: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    return {str(kv.get("key")): _json_value(kv.get("value")) for kv in items or ()}


def _json_id(value: Any, size: int) -> int:
    """OTLP/JSON ids are hex; some senders use the plain protobuf JSON base64 instead."""
    if not value:
        return 0
    text = str(value)
    if len(text) == size * 2:
        try:
            return int(text, 16)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise OtlpError(f"bad span or trace id {text[:40]!r}") from None
    if len(raw) != size:
        raise OtlpError(f"bad span or trace id {text[:40]!r}")
    return int.from_bytes(raw, "big")


def _json_enum(value: Any, names: Mapping[str, int]) -> int:
    if isinstance(value, str) and not value.isdigit():
        return names.get(value.upper(), 0)
    return int(value or 0)


# opentelemetry.proto.trace.v1.Span.SpanKind and Status.StatusCode, named by their numbers
_KINDS = {
    f"SPAN_KIND_{n}": i
    for i, n in enumerate(("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"))
}
_CODES = {f"STATUS_CODE_{n}": i for i, n in enumerate(_CODE_NAMES)}


def _json_record(group: tuple[str | None, str], span: Mapping[str, Any]) -> SpanRecord:
    status = span.get("status") or {}
    return _record(
        group,
        str(span.get("name") or ""),
        (
            _json_id(_get(span, "traceId"), 16),
            _json_id(_get(span, "spanId"), 8),
            _json_id(_get(span, "parentSpanId"), 8),
        ),
        _json_enum(span.get("kind"), _KINDS),
        (int(_get(span, "startTimeUnixNano") or 0), int(_get(span, "endTimeUnixNano") or 0)),
        (_json_enum(status.get("code"), _CODES), status.get("message")),
        _json_attributes(span.get("attributes")),
        [
            (
                str(e.get("name") or ""),
                int(_get(e, "timeUnixNano") or 0),
                _json_attributes(e.get("attributes")),
            )
            for e in span.get("events") or ()
        ],
    )


def _json_groups(body: bytes) -> list[SpanGroup]:
    """The groups of an ``ExportTraceServiceRequest`` in the OTLP/JSON encoding."""
    try:
        request = _jsonload.loads(body)  # lets the pages run while it parses
        if not isinstance(request, dict):
            raise OtlpError("an OTLP/JSON request is a JSON object")
        groups = []
        for resource_spans in _get(request, "resourceSpans") or ():
            resource = _get(resource_spans, "resource") or {}
            service = _service(_json_attributes(resource.get("attributes")))
            scopes = (
                _get(resource_spans, "scopeSpans")
                or _get(resource_spans, "instrumentationLibrarySpans")
                or ()
            )
            for scope_spans in scopes:
                info = (
                    _get(scope_spans, "scope") or _get(scope_spans, "instrumentationLibrary") or {}
                )
                name = str(info.get("name") or "")
                groups.append(
                    SpanGroup(
                        service,
                        name,
                        info.get("version") or None,
                        [_json_record((service, name), s) for s in scope_spans.get("spans") or ()],
                    )
                )
        return groups
    except OtlpError:
        raise
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:  # too deep: 400
        raise OtlpError(f"not an OTLP/JSON trace request: {exc}") from None


def decode_json_records(body: bytes) -> list[SpanRecord]:
    """An ``ExportTraceServiceRequest`` (OTLP/JSON) as the store's span records."""
    return records(_json_groups(body))


def decode_json(body: bytes) -> list[ReadableSpan]:
    """An ``ExportTraceServiceRequest`` in the OTLP/JSON encoding."""
    return readable_spans(_json_groups(body))


# --- logs (content events of the GenAI instrumentations) ---------------------------------------
@dataclass(frozen=True)
class LogEvent:
    """One OTLP log record that belongs to a span, as the span event it stands for."""

    trace_id: int
    span_id: int
    name: str
    time_ns: int
    attributes: dict[str, Any]


def _log_event(
    trace_id: int, span_id: int, name: str, time_ns: int, attributes: dict[str, Any], body: Any
) -> LogEvent | None:
    if not trace_id or not span_id:
        return None  # a log outside any span has no span to show it on
    name = name or str(attributes.get("event.name") or "log")
    if body is not None:  # a structured body (one message) as JSON: event values are flat
        attributes = {
            **attributes,
            "body": body
            if isinstance(body, (str, int, float, bool))
            else json.dumps(body, default=str),
        }
    return LogEvent(trace_id, span_id, name, time_ns, attributes)


def decode_logs_protobuf(body: bytes) -> list[LogEvent]:
    """The span-bound records of an ``ExportLogsServiceRequest`` (binary protobuf)."""
    request = _parse(ExportLogsServiceRequest(), body, "logs")
    events = []
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                event = _log_event(
                    int.from_bytes(record.trace_id, "big"),
                    int.from_bytes(record.span_id, "big"),
                    record.event_name,
                    record.time_unix_nano or record.observed_time_unix_nano,
                    _pb_attributes(record.attributes),
                    any_value(record.body) if record.HasField("body") else None,
                )
                if event is not None:
                    events.append(event)
    return events


def decode_logs_json(body: bytes) -> list[LogEvent]:
    """The span-bound records of an ``ExportLogsServiceRequest`` in the OTLP/JSON encoding."""
    try:
        request = _jsonload.loads(body)  # lets the pages run while it parses
        events = []
        for resource_logs in _get(request, "resourceLogs") or ():
            for scope_logs in _get(resource_logs, "scopeLogs") or ():
                for record in _get(scope_logs, "logRecords") or ():
                    event = _log_event(
                        _json_id(_get(record, "traceId"), 16),
                        _json_id(_get(record, "spanId"), 8),
                        str(_get(record, "eventName") or ""),
                        int(
                            _get(record, "timeUnixNano")
                            or _get(record, "observedTimeUnixNano")
                            or 0
                        ),
                        _json_attributes(record.get("attributes")),
                        _json_value(record["body"]) if record.get("body") else None,
                    )
                    if event is not None:
                        events.append(event)
        return events
    except OtlpError:
        raise
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:  # too deep: 400
        raise OtlpError(f"not an OTLP/JSON logs request: {exc}") from None


# --- encoding: stored spans as OTLP/JSON -------------------------------------------------------
# The protobuf JSON mapping the OTLP specification prescribes (hex trace and span ids, int64 as
# decimal strings, enums as integers), so a collector's ``otlpjsonfile`` receiver or any
# OTLP/HTTP JSON endpoint reads it.
def json_value(value: Any) -> dict[str, Any]:
    """An OTLP/JSON ``AnyValue`` for a decoded attribute value (JSON scalars and arrays)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):  # the JSON mapping spells NaN and the infinities as strings
        return {
            "doubleValue": value
            if math.isfinite(value)
            else "NaN"
            if math.isnan(value)
            else "Infinity"
            if value > 0
            else "-Infinity"
        }
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [json_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": json_key_values(value)}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def json_key_values(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(k), "value": json_value(v)} for k, v in attributes.items()]


def _json_span(row: SpanRow) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": row.trace_id,
        "spanId": row.span_id,
        "name": row.name,
        "kind": _KINDS.get(f"SPAN_KIND_{(row.kind or '').upper()}", 1),
        "startTimeUnixNano": str(row.start_ns),
        "endTimeUnixNano": str(row.end_ns if row.end_ns is not None else row.start_ns),
        "attributes": json_key_values(row.attributes),
        "status": {"code": _CODES.get(f"STATUS_CODE_{(row.status_code or '').upper()}", 0)},
    }
    if row.parent_span_id:
        span["parentSpanId"] = row.parent_span_id
    if row.status_message:
        span["status"]["message"] = row.status_message
    if row.events:
        span["events"] = [
            {
                "timeUnixNano": str(e.get("time_ns", 0)),
                "name": str(e.get("name", "")),
                "attributes": json_key_values(e.get("attributes") or {}),
            }
            for e in row.events
        ]
    return span


def encode_json(spans: Iterable[SpanRow]) -> dict[str, Any]:
    """An ``ExportTraceServiceRequest`` in OTLP/JSON: spans grouped by service (resource) and
    instrumentation scope, in stored order."""
    grouped: dict[str | None, dict[str | None, list[dict[str, Any]]]] = {}
    for row in spans:
        grouped.setdefault(row.service, {}).setdefault(row.scope, []).append(_json_span(row))
    resource_spans = []
    for service, scopes in grouped.items():
        resource = {"attributes": json_key_values({SERVICE_NAME: service})} if service else {}
        resource_spans.append(
            {
                "resource": resource,
                "scopeSpans": [
                    {"scope": {"name": scope} if scope else {}, "spans": rows}
                    for scope, rows in scopes.items()
                ],
            }
        )
    return {"resourceSpans": resource_spans}
