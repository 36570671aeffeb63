"""A stored session as OTLP/JSON: an ``ExportTraceServiceRequest`` in the protobuf JSON mapping
the OTLP specification prescribes (hex trace and span ids, int64 as decimal strings, enums as
integers), so a collector's ``otlpjsonfile`` receiver or any OTLP/HTTP JSON endpoint reads it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME

from agentops_otel.store import SpanRow

# opentelemetry.proto.trace.v1.Span.SpanKind and Status.StatusCode
_SPAN_KINDS = {"INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
_STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}


def any_value(value: Any) -> dict[str, Any]:
    """An ``AnyValue`` for a decoded attribute value (JSON scalars and arrays)."""
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
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": key_values(value)}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def key_values(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(k), "value": any_value(v)} for k, v in attributes.items()]


def _span(row: SpanRow) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": row.trace_id,
        "spanId": row.span_id,
        "name": row.name,
        "kind": _SPAN_KINDS.get((row.kind or "").upper(), 1),
        "startTimeUnixNano": str(row.start_ns),
        "endTimeUnixNano": str(row.end_ns if row.end_ns is not None else row.start_ns),
        "attributes": key_values(row.attributes),
        "status": {"code": _STATUS_CODES.get((row.status_code or "").upper(), 0)},
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
                "attributes": key_values(e.get("attributes") or {}),
            }
            for e in row.events
        ]
    return span


def export_request(spans: Iterable[SpanRow]) -> dict[str, Any]:
    """Spans grouped by service (resource) and instrumentation scope, in stored order."""
    grouped: dict[str | None, dict[str | None, list[dict[str, Any]]]] = {}
    for row in spans:
        grouped.setdefault(row.service, {}).setdefault(row.scope, []).append(_span(row))
    resource_spans = []
    for service, scopes in grouped.items():
        resource = {"attributes": key_values({SERVICE_NAME: service})} if service else {}
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
