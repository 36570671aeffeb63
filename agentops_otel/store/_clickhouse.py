"""The dashboard's read-only store over ClickHouse: the ``otel_traces`` table that the
OpenTelemetry Collector's ``clickhouseexporter`` writes (Map mode, JSON mode, older variants;
found with ``DESC TABLE``), read through clickhouse-connect (the ``clickhouse`` extra).

Nothing is written here. Sessions are computed from spans at read time, windowed in time, or read
from the optional sessions view (:func:`views_ddl`) when the team has applied it. Calls that
arrived without a price are priced here, as the local store prices them at ingest.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from agentops_otel import accounting
from agentops_otel import semconv as A
from agentops_otel.store._db import HOUR_NS, StoreError
from agentops_otel.store._normalize import (
    EMPTY,
    SESSION_KEYS,
    normalize,
    sql_kind,
    sql_value,
)
from agentops_otel.store._rows import (
    RateRow,
    SessionRow,
    SpanRow,
    UsageRow,
    pick_session,
    skip_value,
    string_tags,
)
from agentops_otel.store._search import SEARCHED_KEYS, parse_search, term_pattern

SCHEMES = ("clickhouse", "clickhouses", "http", "https", "chdb")
DEFAULT_DATABASE = "default"
DEFAULT_TABLE = "otel_traces"
# Versioned: a view made by an older release (other columns) is not read; re-apply it.
VIEW_SUFFIX = "_agentops_sessions_v2"
# A session's spans are taken to start within this long of the session: windowed queries read
# this much before (and after) their window, so a session cut by a window edge still adds up.
SESSION_SPAN_NS = 86_400 * 10**9
# The sessions page looks back over these windows in turn until its page is full.
_WINDOWS_NS = (*(days * 86_400 * 10**9 for days in (1, 7, 30, 365)), None)

# Attribute values arrive as strings in Map mode: each is read back as its declared type.
_INT_KEYS, _FLOAT_KEYS, _BOOL_KEYS, _LIST_KEYS = A.INT_KEYS, A.FLOAT_KEYS, A.BOOL_KEYS, A.LIST_KEYS
_SCOPE_KEYS = ("otel.scope.name", "otel.scope.version")
_REQUIRED = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
)


@dataclass(frozen=True)
class Location:
    """Where the table is: the client DSN (no database, no table), the database and table."""

    dsn: str
    database: str
    table: str

    @classmethod
    def parse(cls, url: str, database: str | None = None, table: str | None = None) -> Location:
        """``clickhouse://user:pw@host:8123/db?table=t``, ``http(s)://host:8123`` (``database``
        and ``table`` given, or as query parameters) or ``chdb:///path`` / ``chdb://memory``."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        path = parts.path
        if parts.scheme == "chdb" and parts.netloc in ("", "localhost"):
            path_db = None  # chdb:///abs/path: the path is the engine's directory
        else:
            path_db, path = path.strip("/").split("/")[0] or None, ""
        database = database or query.pop("database", None) or path_db or DEFAULT_DATABASE
        table = table or query.pop("table", None) or DEFAULT_TABLE
        query.pop("database", None)
        query.pop("table", None)
        rest = f"?{urlencode(query)}" if query else ""
        dsn = f"{parts.scheme}://{parts.netloc}{path}{rest}"  # keeps chdb:/// (no host)
        return cls(dsn, database, table)

    @property
    def shown(self) -> str:
        """The location for people: the URL without its password."""
        parts = urlsplit(self.dsn)
        netloc = re.sub(r":[^@/]*@", ":***@", parts.netloc)
        return (
            urlunsplit((parts.scheme, netloc, parts.path, "", ""))
            + f" {self.database}.{self.table}"
        )


def _quote_name(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Schema:
    """SQL for reading attributes out of the table as ``DESC TABLE`` found it."""

    def __init__(self, columns: dict[str, str]) -> None:
        missing = [c for c in _REQUIRED if c not in columns]
        attrs = columns.get("SpanAttributes", "")
        if missing or not attrs.startswith(("Map(", "JSON")):
            why = (
                f"no column {', '.join(missing)}"
                if missing
                else f"column SpanAttributes is {attrs}, not a Map or JSON"
            )
            raise StoreError(
                f"not a table written by the OpenTelemetry Collector's ClickHouse exporter ({why})"
            )
        self.json = not attrs.startswith("Map(")
        # older exporters put the scope into the span's attributes
        self.scope_in_attrs = "ScopeName" not in columns
        self.scope = self.s(_SCOPE_KEYS[0]) if self.scope_in_attrs else "ScopeName"
        self.events = "Events.Attributes" in columns

    def s(self, key: str, column: str = "SpanAttributes") -> str:
        """The attribute as a string ('' when absent); values of JSON mode are typed."""
        if self.json:
            return f"ifNull(toString({column}.{_quote_name(key)}), '')"
        return f"{column}[{_literal(key)}]"

    def list_json(self, key: str) -> str:
        """A list attribute as JSON text ('' when absent)."""
        if self.json:
            return f"ifNull(toJSONString(SpanAttributes.{_quote_name(key)}), '')"
        return self.s(key)

    def all_attrs(self, column: str) -> str:
        return f"toJSONString({column})" if self.json else column

    def attributes(self, raw: Any, skipped: list[str] | None = None) -> dict[str, Any]:
        """A row's attribute column as the dict the local store keeps: each value as its key's
        declared type (:mod:`~agentops_otel.semconv`); a value that is not one is left out
        (its key added to ``skipped``, unless it was empty: as good as absent)."""
        if self.json:
            pairs: dict[str, Any] = {}
            _flatten(json.loads(raw, object_pairs_hook=_Pairs), "", pairs)
        else:
            pairs = raw
        found = {}
        for key, value in pairs.items():
            typed = _typed(key, value)
            if typed is _UNREADABLE:
                if skipped is not None and value != "":
                    skipped.append(key)
            else:
                found[key] = typed
        if self.scope_in_attrs:
            for key in _SCOPE_KEYS:
                found.pop(key, None)
        return found


class _Pairs(list):
    """A JSON object as its (key, value) pairs: JSON mode may repeat a key (``a`` as a value
    and ``a`` as the parent of ``a.b``)."""


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, _Pairs):
        for key, item in value:
            _flatten(item, f"{prefix}{key}.", out)
    else:
        out[prefix[:-1]] = _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, _Pairs):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


_UNREADABLE = object()


def _typed(key: str, value: Any) -> Any:
    """A value as its key's declared OTLP type: Map mode keeps every value as text, JSON mode
    as Go marshalled it (a whole double is a JSON integer). :data:`_UNREADABLE` (with one
    debug log per key) when the value is not one: ``abc``, ``12abc``, ``inf``, ``1e999``,
    ``NaN``, a fraction for an integer, an empty string."""
    if key in _INT_KEYS:
        typed: Any = _integer(value)
    elif key in _FLOAT_KEYS:
        typed = _number(value)
    elif key in _BOOL_KEYS:
        typed = value if isinstance(value, bool) else {"true": True, "false": False}.get(value)
    elif key in _LIST_KEYS and isinstance(value, str):
        # a JSON array is the list the exporter flattened; other text a string sent as such
        try:
            found = json.loads(value)
        except ValueError:
            found = None
        return found if isinstance(found, list) else value
    else:
        return value
    if typed is None:
        skip_value(key, value)
        return _UNREADABLE
    return typed


def _integer(value: Any) -> int | None:
    """A whole number from an integer or its text (``12.0`` too), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def _number(value: Any) -> float | None:
    """A finite number from a number or numeric text, else ``None``."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _status(value: str) -> str:
    return value.upper().removeprefix("STATUS_CODE_")


def _kind(value: str) -> str:
    return value.upper().removeprefix("SPAN_KIND_")


def _ns(since: datetime | float) -> int:
    seconds = since.timestamp() if isinstance(since, datetime) else float(since)
    return int(seconds * 1e9)


class _Sql:
    """The per-span expressions and the per-session aggregates, written once for the schema and
    shared by the spans query, the sessions view's definition and the view's reader."""

    def __init__(self, schema: _Schema) -> None:
        def s(key: str) -> str:  # our keys read from foreign conventions too (the normalizer's)
            return sql_value(schema.s, key)

        attr = s(A.SESSION_ID)
        self.sid = f"if({attr} != '', {attr}, TraceId)"
        # join_trace at read time: a span without a session id (another process that continued
        # the trace: an MCP server) joins the session of its trace, if any; the session keeps
        # its own service name. Over the spans, then over the view's rows (a trace's own group,
        # SessionId = Trace, joins the session of that trace).
        owner = f"max({attr}) OVER (PARTITION BY TraceId)"
        joined = f"{attr} = '' AND {owner} != ''"
        self.joined_spans = (
            f"* REPLACE (if({joined}, '', ServiceName) AS ServiceName), "
            f"if({joined}, {owner}, {self.sid}) AS SessionId"
        )
        owner = "max(if(SessionId != Trace, SessionId, '')) OVER (PARTITION BY Trace)"
        joined = f"SessionId = Trace AND {owner} != ''"
        self.joined_view = (
            f"* EXCEPT (SessionId) REPLACE (if({joined}, '', Service) AS Service), "
            f"if({joined}, {owner}, SessionId) AS Joined"
        )
        kind = sql_kind(schema.s, _literal)
        ops = ", ".join(_literal(op) for op in sorted(A.INFERENCE_OPERATIONS))
        self.llm = (
            f"({s(A.LLM_DUPLICATE)} NOT IN ('true', '1') AND if({kind} != '', "
            f"{kind} = '{A.KIND_LLM}', {s(A.GEN_AI_OPERATION_NAME)} IN ({ops})))"
        )
        self.kind = f"if({kind} != '', {kind}, if({self.llm}, '{A.KIND_LLM}', ''))"
        self.model = (
            f"if({s(A.GEN_AI_RESPONSE_MODEL)} != '', {s(A.GEN_AI_RESPONSE_MODEL)}, "
            f"{s(A.GEN_AI_REQUEST_MODEL)})"
        )
        self.provider = (
            f"if({s(A.GEN_AI_PROVIDER_NAME)} != '', {s(A.GEN_AI_PROVIDER_NAME)}, "
            f"{s(A.GEN_AI_SYSTEM)})"
        )
        # accounting.read_usage in SQL: any present count that is not a whole number in
        # [0, MAX_TOKENS] makes the call's usage (and so its cost) invalid, never summed.
        counts = ", ".join(s(key) for key in accounting.USAGE_KEYS)
        self.usage_ok = (
            f"arrayAll(v -> v = '' OR ifNull(isFinite(toFloat64OrNull(v)) AND "
            f"toFloat64OrNull(v) BETWEEN 0 AND {accounting.MAX_TOKENS} AND "
            f"toFloat64OrNull(v) = floor(toFloat64OrNull(v)), 0), [{counts}])"
        )
        cost = f"toFloat64OrNull({s(A.COST_USD)})"
        self.cost = (
            f"if({self.usage_ok} AND ifNull(isFinite({cost}) AND {cost} >= 0, 0), {cost}, NULL)"
        )
        self.input = self._int(s(A.GEN_AI_USAGE_INPUT_TOKENS))
        self.output = self._int(s(A.GEN_AI_USAGE_OUTPUT_TOKENS))
        self.cache = self._int(s(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS))
        self.cache_write = self._int(
            f"if({s(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS)} != '', "
            f"{s(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS)}, "
            f"{s(A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS)})"
        )
        self.start = "toUnixTimestamp64Nano(Timestamp)"
        self.end = f"({self.start} + toInt64(Duration))"
        failed = "upper(StatusCode) IN ('ERROR', 'STATUS_CODE_ERROR')"
        self.error = f"({failed} AND {self.kind} IN ({accounting.ERROR_KINDS_SQL}))"
        implicit_root = f"({s(A.SESSION_ID)} = '' AND ParentSpanId = '')"
        root = f"({kind} = '{A.KIND_SESSION}' OR {implicit_root})"
        session = f"{kind} = '{A.KIND_SESSION}'"
        llm = self.llm
        unpriced_key = (
            f"concat({self.provider}, '\\x1f', {self.model}, '\\x1f', "
            f"toString(({self.input}) IS NOT NULL OR ({self.output}) IS NOT NULL))"
        )
        # accounting.unpriced over the stored cost: the calls a reader prices, or counts
        flag = s(A.COST_UNKNOWN_MODEL)
        self.unpriced = accounting.unpriced_sql(self.cost, self.input, self.output, flag)
        unpriced = f"{llm} AND {self.unpriced}"

        def roll(key: str) -> str:  # an unreadable or infinite roll-up reads as 0
            return f"if({session}, ifNotFinite(toFloat64OrZero({s(key)}), 0), 0)"

        # (column, aggregate, per-span expression): the same aggregate merges the view's rows
        self.parts: tuple[tuple[str, str, str, str], ...] = (
            ("Start", "min", "Timestamp", "DateTime64(9)"),
            ("NameAttr", "max", s(A.SESSION_NAME), "String"),
            ("RootName", "max", f"if({implicit_root}, SpanName, '')", "String"),
            ("Tags", "max", schema.list_json(A.SESSION_TAGS), "String"),
            ("Service", "max", "ServiceName", "String"),
            ("Trace", "min", "TraceId", "String"),
            ("Ended", "max", f"toUInt8({root})", "UInt8"),
            ("EndNs", "max", f"if({root}, {self.end}, 0)", "Int64"),
            ("EndState", "max", f"if({root}, {s(A.SESSION_END_STATE)}, '')", "String"),
            ("EndReason", "max", f"if({root}, {s(A.SESSION_END_REASON)}, '')", "String"),
            ("KnownCost", "sum", f"if({llm}, ifNull({self.cost}, 0), 0)", "Float64"),
            ("InTokens", "sum", f"if({llm}, ifNull({self.input}, 0), 0)", "Int64"),
            ("OutTokens", "sum", f"if({llm}, ifNull({self.output}, 0), 0)", "Int64"),
            ("Calls", "sum", f"toUInt64({llm})", "UInt64"),
            ("Errors", "sum", f"toUInt64({self.error})", "UInt64"),
            ("Spans", "sum", "toUInt64(1)", "UInt64"),
            ("RollCost", "max", roll(A.TOTAL_COST_USD), "Float64"),
            ("RollIn", "max", roll(A.TOTAL_INPUT_TOKENS), "Float64"),
            ("RollOut", "max", roll(A.TOTAL_OUTPUT_TOKENS), "Float64"),
            ("RollCalls", "max", roll(A.LLM_CALLS), "Float64"),
            ("RollErrors", "max", roll(A.ERRORS), "Float64"),
            ("Loop", "max", f"toUInt8({s(A.LOOP_DETECTED)} IN ('true', '1'))", "UInt8"),
            ("Budget", "max", f"toUInt8({s(A.BUDGET_EXCEEDED)} IN ('true', '1'))", "UInt8"),
            (
                "Unpriced",
                "sumMap",
                f"tuple(if({unpriced}, [{unpriced_key}], []), "
                f"if({unpriced}, [toUInt64(ifNull({self.input}, 0))], []), "
                f"if({unpriced}, [toUInt64(ifNull({self.output}, 0))], []), "
                f"if({unpriced}, [toUInt64(ifNull({self.cache}, 0))], []), "
                f"if({unpriced}, [toUInt64(ifNull({self.cache_write}, 0))], []))",
                "Tuple(Array(String), Array(UInt64), Array(UInt64), Array(UInt64), Array(UInt64))",
            ),
            ("Models", "groupUniqArrayArray", f"if({llm}, [{self.model}], [])", "Array(String)"),
            (
                "Agents",
                "groupUniqArrayArray",
                f"if({s(A.AGENT_NAME)} != '', [{s(A.AGENT_NAME)}], [])",
                "Array(String)",
            ),
        )
        texts = [s(key) for key in SEARCHED_KEYS]
        if schema.events:
            for key in SEARCHED_KEYS:
                texts.append(
                    "arrayStringConcat(arrayMap(e -> "
                    f"{schema.s(key, 'e')}, Events.Attributes), '\\n')"
                )
        self.text = f"concatWithSeparator('\\n', {', '.join(texts)})"

    def _int(self, text: str) -> str:
        """A token count, NULL when absent or when the call's usage is invalid."""
        return f"if({self.usage_ok}, toInt64OrNull(splitByChar('.', {text})[1]), NULL)"

    def over_spans(self) -> str:
        return ", ".join(f"{fn}({expr}) AS {col}" for col, fn, expr, _ in self.parts)

    def over_view(self) -> str:
        return ", ".join(f"{fn}({col}) AS {col}" for col, fn, _, _ in self.parts)


class ClickHouseStore:
    """:class:`~agentops_otel.store.StoreReader` over a ClickHouse traces table. One instance
    serves every request of the dashboard (the client is shared; queries are independent)."""

    def __init__(self, client: Any, where: Location) -> None:
        self._client = client
        self.where = where
        self.location = where.shown
        self.table = f"{_quote_name(where.database)}.{_quote_name(where.table)}"
        self.view = f"{_quote_name(where.database)}.{_quote_name(where.table + VIEW_SUFFIX)}"
        try:
            described = self._query(f"DESC TABLE {self.table}")
        except StoreError as exc:
            raise StoreError(f"cannot read {self.location}: {exc}") from None
        try:
            self.schema = _Schema({row[0]: row[1] for row in described})
        except StoreError as exc:
            raise StoreError(f"{self.location}: {exc}") from None
        self.sql = _Sql(self.schema)
        self.has_view = self._query(f"EXISTS TABLE {self.view}")[0][0] == 1
        self._usage_memo: tuple[tuple[int, int], float, list[tuple[Any, ...]]] | None = None

    @classmethod
    def open(
        cls, url: str, database: str | None = None, table: str | None = None
    ) -> ClickHouseStore:
        """Connect to the table at ``url``; :class:`StoreError` when it cannot be read."""
        where = Location.parse(url, database, table)
        try:
            import clickhouse_connect
        except ImportError:
            raise StoreError(
                "reading ClickHouse needs the clickhouse extra: "
                "pip install 'agentops-otel-distro[clickhouse]'"
            ) from None
        # the driver logs what it raises; the error reaches the user once, as a StoreError
        logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())
        scheme = urlsplit(where.dsn).scheme
        options: dict[str, Any] = {}
        if scheme != "chdb":  # pages query in parallel: no server session to lock
            options["autogenerate_session_id"] = False
        if scheme in ("https", "clickhouses"):
            options["secure"] = True
        try:
            client = clickhouse_connect.get_client(dsn=where.dsn, **options)
        except Exception as exc:  # noqa: BLE001 (every driver error becomes one message)
            raise StoreError(f"cannot connect to {where.shown}: {exc}") from None
        return cls(client, where)

    def close(self) -> None:
        """Nothing to release per request: the shared client lives as long as the process."""

    def __enter__(self) -> ClickHouseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return self._client.query(sql, parameters=params or {}).result_rows
        except Exception as exc:  # noqa: BLE001 (driver and server errors alike)
            raise StoreError(f"ClickHouse query failed: {str(exc).splitlines()[0]}") from None

    def command(self, sql: str) -> None:
        """Run one DDL or INSERT statement (``agentops-otel clickhouse views --apply``)."""
        try:
            self._client.command(sql)
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"ClickHouse statement failed: {str(exc).splitlines()[0]}") from None

    # --- sessions -------------------------------------------------------------------------
    def _sessions_sql(
        self,
        having: list[str],
        params: dict[str, Any],
        lo: int | None,
        hi: int | None,
        search: str | None = None,
        one: bool = False,
    ) -> str:
        """Per-session totals of the sessions that started in ``[lo, hi)`` and pass ``having``:
        from the view when there is one (and no search), else grouped over the spans around
        that window. Adds its bounds to ``params``."""
        if lo is not None:
            params["lo"] = lo
            having = [*having, "toUnixTimestamp64Nano(Start) >= {lo:Int64}"]
        if hi is not None:
            params["hi"] = hi
            having = [*having, "toUnixTimestamp64Nano(Start) < {hi:Int64}"]
        if self.has_view and search is None:
            inner = ["1"]
            if lo is not None:
                inner.append("Start >= fromUnixTimestamp64Nano({lo:Int64})")
            if hi is not None:
                inner.append("Start < fromUnixTimestamp64Nano({hi:Int64})")
            if one:
                inner.append("SessionId = {sid:String}")
                having = [*having, "SessionId = {sid:String}"]
            picked = f"SELECT SessionId, Trace FROM {self.view} WHERE {' AND '.join(inner)}"
            rows = (  # the picked sessions' rows and those of their traces' own groups
                f"SELECT {self.sql.joined_view} FROM {self.view} "
                f"WHERE SessionId IN (SELECT SessionId FROM ({picked})) "
                f"OR Trace IN (SELECT Trace FROM ({picked}))"
            )
            source = (
                f"SELECT Joined AS SessionId, {self.sql.over_view()} FROM ({rows}) GROUP BY Joined"
            )
        else:
            scan = ["1"]
            if lo is not None:
                scan.append(f"Timestamp >= fromUnixTimestamp64Nano({lo - SESSION_SPAN_NS})")
            if hi is not None:
                scan.append(f"Timestamp < fromUnixTimestamp64Nano({hi + SESSION_SPAN_NS})")
            if one:
                scan.append(self._of_session())
            extra = f", countIf({search}) AS Found" if search else ""
            if search:
                having = [*having, "Found > 0"]
            rows = f"SELECT {self.sql.joined_spans} FROM {self.table} WHERE {' AND '.join(scan)}"
            source = (
                f"SELECT SessionId, {self.sql.over_spans()}{extra} FROM ({rows}) GROUP BY SessionId"
            )
        columns = ", ".join(
            [
                "SessionId",
                "toUnixTimestamp64Nano(Start) AS StartNs",
                *(col for col, _, _, _ in self.sql.parts[1:]),
            ]
        )
        return f"SELECT {columns} FROM ({source}) WHERE {' AND '.join(having) or '1'}"

    def _aggregate(
        self,
        having: list[str],
        params: dict[str, Any],
        lo: int | None,
        hi: int | None,
        limit: int | None,
        search: str | None = None,
        one: bool = False,
    ) -> list[SessionRow]:
        """Sessions (see :meth:`_sessions_sql`), newest first."""
        params = dict(params)
        sql = (
            self._sessions_sql(having, params, lo, hi, search, one)
            + " ORDER BY StartNs DESC, SessionId DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_session_row(row) for row in self._query(sql, params)]

    def _oldest_ns(self) -> int:
        """Start of the oldest stored span (from the parts' min/max index: cheap)."""
        return int(
            self._query(f"SELECT toUnixTimestamp64Nano(min(Timestamp)) FROM {self.table}")[0][0]
            or 0
        )

    def list_sessions(
        self,
        limit: int = 50,
        tag: str | None = None,
        end_state: str | None = None,
        since: datetime | float | None = None,
        *,
        until: datetime | float | None = None,
        model: str | None = None,
        agent: str | None = None,
        min_cost: float | None = None,
        before: tuple[int, str] | None = None,
        q: str | None = None,
    ) -> list[SessionRow]:
        """Newest sessions first, as :meth:`Store.list_sessions
        <agentops_otel.store.Store.list_sessions>`. Looks back one day, then a week, a month, a
        year and all time, until the page is full."""
        having: list[str] = []
        params: dict[str, Any] = {}
        if tag is not None:
            having.append(
                "arrayExists(t -> lower(t) = lower({tag:String}), "
                "JSONExtract(Tags, 'Array(String)'))"
            )
            params["tag"] = tag
        if end_state == "running":
            having.append("Ended = 0")
        elif end_state is not None:
            having.append("Ended = 1 AND lower(EndState) = lower({state:String})")
            params["state"] = end_state
        if model is not None:
            having.append("arrayExists(m -> lower(m) = lower({model:String}), Models)")
            params["model"] = model
        if agent is not None:
            having.append("arrayExists(a -> lower(a) = lower({agent:String}), Agents)")
            params["agent"] = agent
        if min_cost is not None:  # sure by stored cost, or maybe once unpriced calls are priced
            having.append(
                "(greatest(KnownCost, RollCost) >= {min_cost:Float64} OR length(Unpriced.1) > 0)"
            )
            params["min_cost"] = min_cost
        if before is not None:
            having.append(
                "(toUnixTimestamp64Nano(Start), SessionId) < ({b_start:Int64}, {b_id:String})"
            )
            params.update(b_start=before[0], b_id=before[1])
        search = self._search(q, params) if q is not None and q.strip() else None
        floor = _ns(since) if since is not None else None
        top = _ns(until) if until is not None else None
        if before is not None:
            top = before[0] + 1 if top is None else min(top, before[0] + 1)
        found: list[SessionRow] = []
        oldest = self._oldest_ns()
        for window in _WINDOWS_NS:
            edge = top if top is not None else time.time_ns()
            lo = None if window is None or edge - window <= oldest else edge - window
            if floor is not None and (lo is None or lo < floor):
                lo = floor
            rows = self._aggregate(having, params, lo, top, None if min_cost else limit, search)
            found = [r for r in rows if min_cost is None or r.cost_usd >= min_cost][:limit]
            if len(found) >= limit or lo is None or lo == floor:
                break
        return found

    def _search(self, q: str, params: dict[str, Any]) -> str:
        """In one span's prompts, completions, tool payloads, session or agent name, every
        term of one alternative of ``q`` (:func:`parse_search`), matched as the local store's
        word index matches it: a regular expression over the text folded the same way
        (lowercase, combining marks removed). Bound as parameters: the text is never SQL."""
        alternatives = []
        for g, group in enumerate(parse_search(q)):
            terms = []
            for i, term in enumerate(group):
                params[f"w{g}_{i}"] = term_pattern(term)
                terms.append(f"match(Folded, {{w{g}_{i}:String}})")
            alternatives.append(f"({' AND '.join(terms)})")
        if not alternatives:
            return "0"  # no word to find
        params["marks"] = r"\p{Mn}"
        text = self.sql.text
        # ASCII text (as many bytes as characters) folds by lower() alone: 2.5x cheaper than
        # the Unicode fold at 1M spans (benchmarks/README.md, ClickHouse section)
        folded = (
            f"if(length({text}) = lengthUTF8({text}), lower({text}), "
            f"replaceRegexpAll(normalizeUTF8NFD(lowerUTF8({text})), {{marks:String}}, ''))"
        )
        return f"({' OR '.join(alternatives)})".replace("Folded", folded)

    def change_marker(self, session_id: str | None = None) -> int:
        """The number of stored spans (of one session): it moves when spans arrive."""
        if session_id is None:
            return int(self._query(f"SELECT count() FROM {self.table}")[0][0])
        rows = self._query(
            f"SELECT count() FROM {self.table} WHERE {self._of_session()}", {"sid": session_id}
        )
        return int(rows[0][0])

    def _of_session(self) -> str:
        """Rows of the session ``{sid}``: by attribute, or by trace for implicit sessions
        (both indexed by the exporter's bloom filters)."""
        s = self.schema.s
        keys = SESSION_KEYS  # ours, then the foreign conventions' (one indexed lookup each)
        named = " OR ".join(f"{s(k)} = {{sid:String}}" for k in keys)
        unnamed = " AND ".join(f"{s(k)} = {EMPTY}" for k in keys)
        # implicit sessions by trace, and spans of another process that joined the session
        traces = f"SELECT TraceId FROM {self.table} WHERE {named}"
        rows = f"({named} OR ({unnamed} AND (TraceId = {{sid:String}} OR TraceId IN ({traces}))))"
        if not self.has_view:
            return rows
        # the view knows when the session ran: read only those days' partitions
        known = f"FROM {self.view} WHERE SessionId = {{sid:String}}"
        return (
            f"{rows} AND Timestamp >= (SELECT min(Start) {known}) AND Timestamp <= "
            f"(SELECT fromUnixTimestamp64Nano(if(max(Ended) = 1, max(EndNs) + "
            f"{SESSION_SPAN_NS}, {2**62})) {known})"
        )

    def resolve_session(self, prefix: str) -> str:
        """Full session id from a unique prefix; :class:`StoreError` if none or several match."""
        if self.has_view:
            sql = (
                f"SELECT DISTINCT SessionId FROM {self.view} WHERE "
                "startsWith(SessionId, {p:String}) ORDER BY SessionId LIMIT 6"
            )
        else:
            sql = (
                f"SELECT DISTINCT {self.sql.sid} AS s FROM {self.table} WHERE "
                "startsWith(s, {p:String}) ORDER BY s LIMIT 6"
            )
        return pick_session(prefix, lambda start: [r[0] for r in self._query(sql, {"p": start})])

    def get_session(self, session_id: str) -> SessionRow | None:
        # ``one`` reads the session's rows only (every one of them has this SessionId), so no
        # filter on SessionId above the GROUP BY: pushed down onto the grouping expression it
        # meets the row filter on a text-indexed attribute, and ClickHouse (26.2+, direct read
        # from the text index) fails with NOT_FOUND_COLUMN_IN_BLOCK.
        rows = self._aggregate([], {"sid": session_id}, None, None, 1, one=True)
        return rows[0] if rows else None

    def _spans(self, where: str, params: dict[str, Any]) -> list[SpanRow]:
        """The spans of session ``params["sid"]`` that match ``where``, in start order."""
        sql, schema = self.sql, self.schema
        events = (
            (
                "arrayMap(t -> toUnixTimestamp64Nano(t), Events.Timestamp), Events.Name, "
                + (
                    "arrayMap(a -> toJSONString(a), Events.Attributes)"
                    if schema.json
                    else "Events.Attributes"
                )
            )
            if schema.events
            else "[], [], []"
        )
        rows = self._query(
            f"SELECT TraceId, SpanId, ParentSpanId, {{sid:String}}, SpanName, SpanKind, "
            f"{sql.kind}, {sql.start}, {sql.end}, StatusCode, StatusMessage, {sql.model}, "
            f"{sql.provider}, {sql.input}, {sql.output}, {sql.cost}, {schema.s(A.COST_SOURCE)}, "
            f"ServiceName, {schema.scope}, {schema.all_attrs('SpanAttributes')}, {events}, "
            f"{sql.cache}, {sql.cache_write} "
            f"FROM {self.table} WHERE {where} ORDER BY Timestamp, SpanId",
            params,
        )
        return [self._span_row(row) for row in rows]

    def _span_row(self, row: tuple[Any, ...]) -> SpanRow:
        (
            trace,
            span,
            parent,
            sid,
            name,
            kind,
            akind,
            start,
            end,
            status,
            message,
            model,
            provider,
            inp,
            out,
            cost,
            source,
            service,
            scope,
            attrs,
            ev_times,
            ev_names,
            ev_attrs,
            cache,
            cache_write,
        ) = row
        source = source or None
        skipped: list[str] = []
        raw = self.schema.attributes(attrs, skipped)
        attributes = dict(normalize(raw, name))
        if attributes != raw:  # another convention's span: its numbers from what we mapped
            akind = attributes.get(A.SPAN_KIND) or akind
            usage = accounting.read_usage(attributes)[0] if akind == A.KIND_LLM else None
            inp, out = (usage.input_tokens, usage.output_tokens) if usage else (None, None)
            cache, cache_write = (
                (usage.cache_read_tokens, usage.cache_write_tokens) if usage else (None, None)
            )
            model, provider = accounting.model_of(attributes), accounting.provider_of(attributes)
        if akind == A.KIND_LLM:  # an unreadable count makes the usage invalid, as stored
            unread = {*accounting.read_usage(attributes)[1], *skipped}
            invalid = tuple(key for key in accounting.USAGE_KEYS if key in unread)
            if invalid:
                attributes[A.USAGE_INVALID] = list(invalid)
            elif cost is None and (inp is not None or out is not None):
                cost, source = accounting.price(
                    provider,
                    model,
                    accounting.Usage(inp or 0, out or 0, cache or 0, cache_write or 0),
                )
        if cost is None:
            source = None
        events = [
            {"name": n, "time_ns": t, "attributes": self.schema.attributes(a)}
            for t, n, a in zip(ev_times, ev_names, ev_attrs, strict=False)
        ]
        return SpanRow(
            trace,
            span,
            parent or None,
            sid,
            name,
            _kind(kind),
            akind or None,
            start,
            end,
            _status(status),
            message or None,
            model or None,
            provider or None,
            inp,
            out,
            cost,
            source,
            service or None,
            scope or None,
            attributes,
            events,
        )

    def session_spans(self, session_id: str) -> list[SpanRow]:
        """Every span of the session, in start order."""
        return self._spans(self._of_session(), {"sid": session_id})

    def get_span(self, session_id: str, span_id: str) -> SpanRow | None:
        found = self._spans(
            f"{self._of_session()} AND SpanId = {{span:String}}",
            {"sid": session_id, "span": span_id},
        )
        return found[0] if found else None

    # --- overview -------------------------------------------------------------------------
    def usage_over_time(
        self, since: datetime | float, bucket_seconds: int, by: str
    ) -> list[UsageRow]:
        """LLM calls, tokens and cost per time bucket (whole hours, counted from the start of
        ``since``'s hour) and per ``by`` (``"model"`` or ``"agent"``); calls without a price
        are priced here; ``unpriced`` counts those left without one that should have one
        (:func:`~agentops_otel.accounting.unpriced`)."""
        width = max(int(bucket_seconds * 1e9) // HOUR_NS, 1) * HOUR_NS
        totals: dict[tuple[int, str], list[Any]] = {}
        for (
            bucket,
            model,
            agent,
            provider,
            no_cost,
            has_tokens,
            unpriced,
            calls,
            errors,
            inp,
            out,
            cache,
            cache_write,
            cost,
        ) in self._usage(_ns(since), width):
            row = totals.setdefault(
                (bucket, model if by == "model" else agent), [0, 0, 0, 0, 0.0, 0]
            )
            row[0] += calls
            row[1] += errors
            row[2] += inp
            row[3] += out
            if no_cost:
                priced = (
                    accounting.price(
                        provider, model, accounting.Usage(inp, out, cache, cache_write)
                    )[0]
                    if has_tokens
                    else None
                )
                if priced is None:
                    row[5] += unpriced
                else:
                    row[4] += priced
            else:
                row[4] += cost
        return [UsageRow(bucket, key, *totals[bucket, key]) for bucket, key in sorted(totals)]

    def _usage(self, since_ns: int, width: int) -> list[tuple[Any, ...]]:
        """LLM calls grouped by bucket, model, agent, provider and whether priced: one scan
        serves the by-model and the by-agent charts of one page (the same ``since``, asked
        again within a second)."""
        from agentops_otel.accounting import NO_AGENT, NO_MODEL

        key, now = (since_ns, width), time.monotonic()
        if (
            self._usage_memo is not None
            and self._usage_memo[0] == key
            and (now - self._usage_memo[1] < 1.0)
        ):
            return self._usage_memo[2]
        sql, s = self.sql, self.schema.s
        rows = self._query(
            f"SELECT intDiv({sql.start}, {width}) * {width} AS bucket, "
            f"if({sql.model} != '', {sql.model}, {_literal(NO_MODEL)}) AS model_key, "
            f"if({s(A.AGENT_NAME)} != '', {s(A.AGENT_NAME)}, {_literal(NO_AGENT)}) AS agent, "
            f"{sql.provider}, ({sql.cost}) IS NULL AS no_cost, "
            f"(({sql.input}) IS NOT NULL OR ({sql.output}) IS NOT NULL) AS has_tokens, "
            f"countIf({sql.unpriced}), count(), "
            f"countIf({sql.error}), sum(ifNull({sql.input}, 0)), sum(ifNull({sql.output}, 0)), "
            f"sum(ifNull({sql.cache}, 0)), sum(ifNull({sql.cache_write}, 0)), "
            f"sum(ifNull({sql.cost}, 0)) FROM {self.table} "
            f"WHERE Timestamp >= fromUnixTimestamp64Nano({{since:Int64}}) AND {sql.llm} "
            "GROUP BY ALL",
            {"since": since_ns // HOUR_NS * HOUR_NS},
        )
        self._usage_memo = (key, now, rows)
        return rows

    def session_rates(self, since: datetime | float, bucket_seconds: int) -> list[RateRow]:
        """Sessions per time bucket with how many had errors, loops or a blown budget."""
        width = int(bucket_seconds * 1e9)
        params: dict[str, Any] = {}
        sessions = self._sessions_sql([], params, _ns(since), None)
        rows = self._query(
            f"SELECT intDiv(StartNs, {width}) * {width} AS bucket, count(), "
            "countIf(Errors > 0 OR RollErrors > 0), sum(Loop), sum(Budget) "
            f"FROM ({sessions}) GROUP BY bucket ORDER BY bucket",
            params,
        )
        return [RateRow(*(int(v) for v in row)) for row in rows]


def _tags(text: str) -> tuple[str, ...]:
    """Tags as the exporter sent them: a list as JSON text, or one string (one tag)."""
    if not text:
        return ()
    try:
        found = json.loads(text)
    except ValueError:
        return (text,)
    if isinstance(found, str):  # JSON mode: one string, as JSON
        return (found,)
    return string_tags(found) if isinstance(found, list) else (text,)


def _session_row(row: Sequence[Any]) -> SessionRow:
    (
        sid,
        start,
        name_attr,
        root_name,
        tags,
        service,
        trace,
        ended,
        end_ns,
        end_state,
        end_reason,
        known_cost,
        inp,
        out,
        calls,
        errors,
        spans,
        roll_cost,
        roll_in,
        roll_out,
        roll_calls,
        roll_errors,
        loop,
        budget,
        unpriced,
        _models,
        _agents,
    ) = row
    cost = known_cost
    for key, in_tokens, out_tokens, cache, cache_write in zip(*unpriced, strict=False):
        provider, model, has_tokens = key.split("\x1f")
        if has_tokens in ("1", "true"):
            usage = accounting.Usage(in_tokens, out_tokens, cache, cache_write)
            cost += accounting.price(provider or None, model, usage)[0] or 0.0
    return SessionRow(
        id=sid,
        name=name_attr or root_name or None,
        tags=_tags(tags),
        service=service or None,
        trace_id=trace or None,
        start_ns=start,
        end_ns=end_ns if ended else None,
        end_state=(end_state or None) if ended else None,
        end_reason=(end_reason or None) if ended else None,
        cost_usd=max(cost, roll_cost),
        input_tokens=int(max(inp, roll_in)),
        output_tokens=int(max(out, roll_out)),
        llm_calls=int(max(calls, roll_calls)),
        errors=int(max(errors, roll_errors)),
        span_count=int(spans),
        loop_detected=bool(loop),
        budget_exceeded=bool(budget),
    )


def views_ddl(store: ClickHouseStore, cluster: str | None = None) -> Iterator[str]:
    """The optional sessions view: an AggregatingMergeTree table of per-session partial totals
    filled by a materialized view on every insert into the traces table, then a backfill of the
    spans already there. ``cluster`` adds ``ON CLUSTER`` and a replicated engine."""
    on = f" ON CLUSTER {_quote_name(cluster)}" if cluster else ""
    engine = "ReplicatedAggregatingMergeTree" if cluster else "AggregatingMergeTree"
    columns = ",\n    ".join(
        f"{col} SimpleAggregateFunction({fn}, {typ})" for col, fn, _, typ in store.sql.parts
    )
    select = f"SELECT {store.sql.sid} AS SessionId, {store.sql.over_spans()} FROM {store.table}"
    mv = f"{store.where.database}.{store.where.table}{VIEW_SUFFIX}_mv"
    mv_name = ".".join(_quote_name(p) for p in mv.split(".", 1))
    yield (
        f"CREATE TABLE IF NOT EXISTS {store.view}{on} (\n    SessionId String,\n    "
        f"{columns}\n) ENGINE = {engine}\nORDER BY SessionId"
    )
    yield (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {mv_name}{on} TO {store.view} AS\n"
        f"{select}\nGROUP BY SessionId"
    )
    yield (
        "-- the spans stored before the view existed; spans that arrive while this runs are\n"
        "-- counted twice in the view (run it right after the view, or at a quiet moment)\n"
        f"INSERT INTO {store.view}\n{select}\nGROUP BY SessionId"
    )
