"""Spans into ClickHouse the way the OpenTelemetry Collector's ``clickhouseexporter`` writes
them, for tests and benchmarks of the ClickHouse store (run in-process with chDB).

The tables are the exporter's own DDL for each mode: ``map`` (the default today), ``json``
(``json: true``, ClickHouse 25+) and ``legacy`` (releases before the scope columns, with a signed
``Duration``). Rows use the exporter's insert column list and its value conversion: attribute
values as strings (``pcommon.Value.AsString``) in Map mode, typed JSON in JSON mode, the span
kind and status code as the exporter's version spells them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

MODES = ("map", "json", "legacy")

_CODEC = "CODEC(ZSTD(1))"
_MAP = "Map(LowCardinality(String), String)"


def _table_ddl(name: str, mode: str) -> str:
    attrs = "JSON" if mode == "json" else _MAP
    scope = ("" if mode == "legacy" else
             f"ScopeName String {_CODEC},\n    ScopeVersion String {_CODEC},\n    ")
    map_indexes = "" if mode == "json" else """
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,"""
    order = {"map": "(ServiceName, SpanName, toDateTime(Timestamp))",
             "json": "(ServiceName, SpanName, toDateTime(Timestamp), Timestamp)",
             "legacy": "(ServiceName, SpanName, toUnixTimestamp(Timestamp), TraceId)"}[mode]
    return f"""CREATE TABLE IF NOT EXISTS {name} (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String {_CODEC},
    SpanId String {_CODEC},
    ParentSpanId String {_CODEC},
    TraceState String {_CODEC},
    SpanName LowCardinality(String) {_CODEC},
    SpanKind LowCardinality(String) {_CODEC},
    ServiceName LowCardinality(String) {_CODEC},
    ResourceAttributes {attrs} {_CODEC},
    {scope}SpanAttributes {attrs} {_CODEC},
    Duration {"Int64" if mode == "legacy" else "UInt64"} {_CODEC},
    StatusCode LowCardinality(String) {_CODEC},
    StatusMessage String {_CODEC},
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes {attrs}
    ) {_CODEC},
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes {attrs}
    ) {_CODEC},{map_indexes}
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY {order}
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1"""


def create_tables(client: Any, database: str, table: str = "otel_traces",
                  mode: str = "map") -> None:
    """The database, the traces table, and the exporter's trace-id lookup table and view."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    name = f"`{database}`.`{table}`"
    client.command(_table_ddl(name, mode))
    client.command(f"""CREATE TABLE IF NOT EXISTS `{database}`.`{table}_trace_id_ts` (
    TraceId String {_CODEC},
    Start DateTime {_CODEC},
    End DateTime {_CODEC},
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Start)
ORDER BY (TraceId, Start)
SETTINGS index_granularity=8192""")
    client.command(f"""CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`{table}_trace_id_ts_mv`
TO `{database}`.`{table}_trace_id_ts` AS
SELECT TraceId, min(Timestamp) AS Start, max(Timestamp) AS End
FROM {name} WHERE TraceId != '' GROUP BY TraceId""")


# The exporter's insert column list (legacy: without the scope columns).
COLUMNS = ("Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName",
           "SpanKind", "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion",
           "SpanAttributes", "Duration", "StatusCode", "StatusMessage", "Events.Timestamp",
           "Events.Name", "Events.Attributes", "Links.TraceId", "Links.SpanId",
           "Links.TraceState", "Links.Attributes")
_KINDS = {"INTERNAL": "Internal", "SERVER": "Server", "CLIENT": "Client",
          "PRODUCER": "Producer", "CONSUMER": "Consumer"}


def as_string(value: Any) -> str:
    """An attribute value as ``pcommon.Value.AsString`` renders it (JSON for lists, ES6
    number formatting for doubles)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    return json.dumps(list(value), separators=(",", ":"), ensure_ascii=False)


def _float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return json.dumps(value)
    if value != 0 and not 1e-6 <= abs(value) < 1e21:
        return repr(value).replace("e-0", "e-").replace("e+0", "e+")
    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def _attributes(attrs: Mapping[str, Any] | None, mode: str) -> Any:
    attrs = attrs or {}
    if mode == "json":
        return json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in attrs.items()},
                          separators=(",", ":"), ensure_ascii=False)
    return {key: as_string(value) for key, value in attrs.items()}


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x") if value else ""


def row(span: ReadableSpan, mode: str = "map") -> list[Any]:
    """One span as the exporter's row (all of :data:`COLUMNS`; legacy drops the scope)."""
    resource = dict(span.resource.attributes) if span.resource else {}
    scope = span.instrumentation_scope
    attrs = dict(span.attributes or {})
    scope_name, scope_version = (scope.name or "", scope.version or "") if scope else ("", "")
    if mode == "legacy":  # older releases put the scope into the span's attributes
        if scope_name:
            attrs["otel.scope.name"] = scope_name
        if scope_version:
            attrs["otel.scope.version"] = scope_version
    kind = span.kind.name
    status = span.status.status_code.name
    if mode == "legacy":
        kind, status = f"SPAN_KIND_{kind}", f"STATUS_CODE_{status}"
    else:
        kind, status = _KINDS.get(kind, "Unspecified"), status.capitalize()
    ctx = span.context
    state = ctx.trace_state.to_header() if ctx.trace_state else ""
    start = span.start_time or 0
    return [
        start, _hex(ctx.trace_id, 32), _hex(ctx.span_id, 16),
        _hex(span.parent.span_id, 16) if span.parent else "", state, span.name, kind,
        as_string(resource.get("service.name", "")), _attributes(resource, mode),
        scope_name, scope_version, _attributes(attrs, mode), (span.end_time or start) - start,
        status, span.status.description or "",
        [e.timestamp for e in span.events], [e.name for e in span.events],
        [_attributes(e.attributes, mode) for e in span.events],
        [_hex(link.context.trace_id, 32) for link in span.links],
        [_hex(link.context.span_id, 16) for link in span.links],
        [link.context.trace_state.to_header() if link.context.trace_state else ""
         for link in span.links],
        [_attributes(link.attributes, mode) for link in span.links],
    ]


def insert(client: Any, database: str, spans: Sequence[ReadableSpan],
           table: str = "otel_traces", mode: str = "map") -> None:
    """Insert ``spans`` as one batch, as the exporter does per export call."""
    rows = [row(span, mode) for span in spans]
    columns = list(COLUMNS)
    if mode == "legacy":
        scope = columns.index("ScopeName")
        del columns[scope:scope + 2]
        for values in rows:
            del values[scope:scope + 2]
    if rows:
        client.insert(table, rows, column_names=columns, database=database)
