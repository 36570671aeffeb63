"""Spans into ClickHouse the way the OpenTelemetry Collector's ``clickhouseexporter`` writes
them, for tests and benchmarks of the ClickHouse store (run in-process with chDB).

The tables are the exporter's own DDL (``internal/sqltemplates``) for each mode: ``map`` (the
default), with the text indexes the exporter creates on ClickHouse 26.2 and later or the bloom
filters it creates before; ``json`` (``json: true``, ClickHouse 25+, with the attribute-key
columns); ``legacy`` (releases before the scope columns, with a signed ``Duration``). Rows use
the exporter's insert column list and its value conversion: attribute values as strings
(``pcommon.Value.AsString``) in Map mode, JSON as Go marshals it in JSON mode, the span kind and
status code as the exporter's version spells them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

MODES = ("map", "json", "legacy")
# The skip indexes of Map mode: text indexes from ClickHouse 26.2 on, bloom filters before.
INDEXES = ("text", "bloom")
TEXT_INDEX_SINCE = (26, 2)

_CODEC = "CODEC(ZSTD(1))"
_MAP = "Map(LowCardinality(String), String)"
_ITEMS = (
    "{name} Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), "
    "CAST({column}, 'Array(Tuple(String, String))')),"
)
_TEXT = "TYPE text(tokenizer = 'array')"
_MAP_INDEXES = {
    "text": f"""
    INDEX idx_trace_id TraceId {_TEXT},
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) {_TEXT},
    INDEX idx_res_attr_items ResourceAttributeItems {_TEXT},
    INDEX idx_span_attr_key mapKeys(SpanAttributes) {_TEXT},
    INDEX idx_span_attr_items SpanAttributeItems {_TEXT},""",
    "bloom": """
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,""",
}


def _ddl(name: str, columns: str, indexes: str, keys: str, *, delta: str = "") -> str:
    """A traces table: the columns every version has around ``columns`` (the attributes and
    scope), then ``indexes`` and the table's keys."""
    return f"""CREATE TABLE IF NOT EXISTS {name} (
    Timestamp DateTime64(9) CODEC(Delta{delta}, ZSTD(1)),
    TraceId String {_CODEC},
    SpanId String {_CODEC},
    ParentSpanId String {_CODEC},
    TraceState String {_CODEC},
    SpanName LowCardinality(String) {_CODEC},
    SpanKind LowCardinality(String) {_CODEC},
    ServiceName LowCardinality(String) {_CODEC},
    {columns}
    StatusCode LowCardinality(String) {_CODEC},
    StatusMessage String {_CODEC},
    {_nested("JSON" if "JSON" in columns else _MAP)}{indexes}
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1{keys}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1"""


def _nested(attrs: str) -> str:
    return f"""Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes {attrs}
    ) {_CODEC},
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes {attrs}
    ) {_CODEC},"""


_SCOPE = f"ScopeName String {_CODEC},\n    ScopeVersion String {_CODEC},"
_ENGINE = "\n) ENGINE = MergeTree()\nPARTITION BY toDate(Timestamp)\n"
_ORDER = "ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)"


def _map_ddl(name: str, index: str) -> str:
    """``traces_table.sql`` of today's exporter (Map mode) with the given index kind."""
    items = "\n    ".join(
        _ITEMS.format(name=f"{kind}AttributeItems", column=f"{kind}Attributes")
        for kind in ("Resource", "Span")
    )
    return _ddl(
        name,
        f"""ResourceAttributes {_MAP} {_CODEC},
    {_SCOPE}
    SpanAttributes {_MAP} {_CODEC},
    Duration UInt64 CODEC(T64, ZSTD(1)),""",
        f"\n    {items}{_MAP_INDEXES[index]}",
        f""",
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8{_ENGINE}\
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
{_ORDER}""",
        delta="(8)",
    )


def _json_ddl(name: str) -> str:
    """``traces_json_table.sql`` of today's exporter, with the attribute-key columns."""
    return _ddl(
        name,
        f"""ResourceAttributes JSON {_CODEC},
    ResourceAttributesKeys Array(LowCardinality(String)) {_CODEC},
    {_SCOPE}
    SpanAttributes JSON {_CODEC},
    SpanAttributesKeys Array(LowCardinality(String)) {_CODEC},
    Duration UInt64 {_CODEC},""",
        """
    INDEX idx_res_attr_keys ResourceAttributesKeys TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_keys SpanAttributesKeys TYPE bloom_filter(0.01) GRANULARITY 1,""",
        f"{_ENGINE}{_ORDER}",
    )


def _legacy_ddl(name: str) -> str:
    """The table of releases before the scope columns (signed ``Duration``)."""
    return _ddl(
        name,
        f"""ResourceAttributes {_MAP} {_CODEC},
    SpanAttributes {_MAP} {_CODEC},
    Duration Int64 {_CODEC},""",
        _MAP_INDEXES["bloom"],
        f"{_ENGINE}ORDER BY (ServiceName, SpanName, toUnixTimestamp(Timestamp), TraceId)",
    )


def exporter_index(client: Any) -> str:
    """The index kind the exporter creates on this server: ``text`` from 26.2 on."""
    version = str(client.query("SELECT version()").result_rows[0][0])
    major, minor = (int(part) for part in version.split(".")[:2])
    return "text" if (major, minor) >= TEXT_INDEX_SINCE else "bloom"


def create_tables(
    client: Any,
    database: str,
    table: str = "otel_traces",
    mode: str = "map",
    index: str | None = None,
) -> None:
    """The database, the traces table, and the exporter's trace-id lookup table and view.
    ``index`` (Map mode): ``text`` or ``bloom``; by default what the exporter picks for the
    server's version."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if index is not None and index not in INDEXES:
        raise ValueError(f"index must be one of {INDEXES}")
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    name = f"`{database}`.`{table}`"
    if mode == "map":
        client.command(_map_ddl(name, index or exporter_index(client)))
    else:
        client.command(_json_ddl(name) if mode == "json" else _legacy_ddl(name))
    lookup = f"`{database}`.`{table}_trace_id_ts`"
    client.command(f"""CREATE TABLE IF NOT EXISTS {lookup} (
    TraceId String {_CODEC},
    Start SimpleAggregateFunction(min, DateTime) {_CODEC},
    End SimpleAggregateFunction(max, DateTime) {_CODEC}
) ENGINE = AggregatingMergeTree()
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1""")
    client.command(f"""CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`{table}_trace_id_ts_mv`
TO {lookup} AS
SELECT TraceId, min(Timestamp) AS Start, max(Timestamp) AS End
FROM {name} WHERE TraceId != '' GROUP BY TraceId""")


# The exporter's insert column list (legacy: without the scope columns).
COLUMNS = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
)
_KINDS = {
    "INTERNAL": "Internal",
    "SERVER": "Server",
    "CLIENT": "Client",
    "PRODUCER": "Producer",
    "CONSUMER": "Consumer",
}


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


def as_json(value: Any) -> str:
    """A value as Go's ``encoding/json`` marshals ``pcommon.Value.AsRaw`` (JSON mode): doubles
    in ES6 form, so a whole double is a JSON integer (``0.0`` is ``0``). NaN and infinities
    fail the exporter's marshalling (the batch is refused): :class:`ValueError` here."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"the exporter cannot marshal {value!r} as JSON")
        return _float(value)
    if isinstance(value, Mapping):
        return (
            "{"
            + ",".join(
                f"{json.dumps(str(k), ensure_ascii=False)}:{as_json(v)}" for k, v in value.items()
            )
            + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(as_json(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _attributes(attrs: Mapping[str, Any] | None, mode: str) -> Any:
    attrs = attrs or {}
    if mode == "json":
        return as_json(attrs)
    return {key: as_string(value) for key, value in attrs.items()}


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x") if value else ""


def row(span: ReadableSpan, mode: str = "map") -> list[Any]:
    """One span as the exporter's row (all of :data:`COLUMNS`; legacy drops the scope, JSON
    mode adds the attribute keys)."""
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
        start,
        _hex(ctx.trace_id, 32),
        _hex(ctx.span_id, 16),
        _hex(span.parent.span_id, 16) if span.parent else "",
        state,
        span.name,
        kind,
        as_string(resource.get("service.name", "")),
        _attributes(resource, mode),
        scope_name,
        scope_version,
        _attributes(attrs, mode),
        (span.end_time or start) - start,
        status,
        span.status.description or "",
        [e.timestamp for e in span.events],
        [e.name for e in span.events],
        [_attributes(e.attributes, mode) for e in span.events],
        [_hex(link.context.trace_id, 32) for link in span.links],
        [_hex(link.context.span_id, 16) for link in span.links],
        [
            link.context.trace_state.to_header() if link.context.trace_state else ""
            for link in span.links
        ],
        [_attributes(link.attributes, mode) for link in span.links],
        *([sorted(resource), sorted(attrs)] if mode == "json" else []),
    ]


def insert(
    client: Any,
    database: str,
    spans: Sequence[ReadableSpan],
    table: str = "otel_traces",
    mode: str = "map",
) -> None:
    """Insert ``spans`` as one batch, as the exporter does per export call."""
    rows = [row(span, mode) for span in spans]
    columns = list(COLUMNS)
    if mode == "json":
        columns += ["ResourceAttributesKeys", "SpanAttributesKeys"]
    if mode == "legacy":
        scope = columns.index("ScopeName")
        del columns[scope : scope + 2]
        for values in rows:
            del values[scope : scope + 2]
    if rows:
        client.insert(table, rows, column_names=columns, database=database)
