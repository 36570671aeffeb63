"""Write ended spans into the local store, keeping per-session totals current as they arrive.

Runs only on an export worker thread (see ``agentops_otel.export``); one transaction per batch,
``BEGIN IMMEDIATE`` so several processes can write the same file.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agentops_otel import accounting
from agentops_otel import semconv as A
from agentops_otel.accounting import NO_AGENT, NO_MODEL
from agentops_otel.store._content import (
    after_delete,
    compressed,
    dumps,
    finish,
    finish_written,
    finished_upto,
    last_rowid,
    split,
    unindex_spans,
    waiting,
)
from agentops_otel.store._db import HOUR_NS, StoreError, connect, default_path
from agentops_otel.store._normalize import normalize
from agentops_otel.store._search import search_text, utf8_text

_log = logging.getLogger("agentops_otel.store")
_T = TypeVar("_T")

DEFAULT_RETENTION_DAYS = 30.0
_NS_PER_DAY = 86_400 * 10**9

_UPSERT_USAGE = """
INSERT INTO usage_hourly (hour_ns, model, agent, calls, errors, input_tokens, output_tokens,
                          cost_usd, unpriced)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (hour_ns, model, agent) DO UPDATE SET
    calls = calls + excluded.calls,
    errors = errors + excluded.errors,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cost_usd = cost_usd + excluded.cost_usd,
    unpriced = unpriced + excluded.unpriced
"""

_INSERT_SPAN = """
INSERT OR IGNORE INTO spans (
    trace_id, span_id, parent_span_id, session_id, name, kind, agentops_kind, start_ns, end_ns,
    status_code, status_message, model, provider, input_tokens, output_tokens, cost_usd,
    cost_source, service, scope, attributes, content, events
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

# Totals accumulate per newly inserted span (a batch's spans of one session folded into one row
# by :func:`_folded`); a session span's own roll-ups (computed by the AgentOpsSpanProcessor) win
# when larger, so a re-sent or late span never double counts.
_UPSERT_SESSION = """
INSERT INTO sessions (
    id, name, tags, service, trace_id, start_ns, end_ns, end_state, end_reason, cost_usd,
    input_tokens, output_tokens, llm_calls, errors, span_count, loop_detected, budget_exceeded,
    updated_ns
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    name = COALESCE(excluded.name, sessions.name),
    tags = COALESCE(excluded.tags, sessions.tags),
    service = COALESCE(sessions.service, excluded.service),
    trace_id = COALESCE(sessions.trace_id, excluded.trace_id),
    start_ns = MIN(COALESCE(sessions.start_ns, excluded.start_ns), excluded.start_ns),
    end_ns = COALESCE(excluded.end_ns, sessions.end_ns),
    end_state = COALESCE(excluded.end_state, sessions.end_state),
    end_reason = COALESCE(excluded.end_reason, sessions.end_reason),
    cost_usd = sessions.cost_usd + excluded.cost_usd,
    input_tokens = sessions.input_tokens + excluded.input_tokens,
    output_tokens = sessions.output_tokens + excluded.output_tokens,
    llm_calls = sessions.llm_calls + excluded.llm_calls,
    errors = sessions.errors + excluded.errors,
    span_count = sessions.span_count + excluded.span_count,
    loop_detected = MAX(sessions.loop_detected, excluded.loop_detected),
    budget_exceeded = MAX(sessions.budget_exceeded, excluded.budget_exceeded),
    updated_ns = excluded.updated_ns
"""


def _rollup(key: str, sql_type: str) -> str:
    """The session span's roll-up of ``key``: a finite number, else 0 (SQLite would read text
    such as ``12abc`` as 12 and ``1e999`` as infinity)."""
    path = f"'$.\"{key}\"'"
    return (
        f"COALESCE(CASE WHEN json_type(r.attributes, {path}) IN ('integer', 'real') AND "
        f"abs(json_extract(r.attributes, {path})) <= 1.7976931348623157e308 "
        f"THEN CAST(json_extract(r.attributes, {path}) AS {sql_type}) END, 0)"
    )


# When the session span is stored, totals are recomputed from the stored spans (its roll-ups win
# when larger): a session span that arrives before its LLM spans (OTLP senders batch by start
# order, the sum of a partial re-send) never double counts.
_RECOMPUTE_SESSION = f"""
UPDATE sessions SET
    cost_usd = MAX(t.cost, {_rollup(A.TOTAL_COST_USD, "REAL")}),
    input_tokens = MAX(t.input_tokens, {_rollup(A.TOTAL_INPUT_TOKENS, "INTEGER")}),
    output_tokens = MAX(t.output_tokens, {_rollup(A.TOTAL_OUTPUT_TOKENS, "INTEGER")}),
    llm_calls = MAX(t.calls, {_rollup(A.LLM_CALLS, "INTEGER")}),
    errors = MAX(t.errors, {_rollup(A.ERRORS, "INTEGER")})
FROM (
    SELECT TOTAL(CASE WHEN agentops_kind = '{A.KIND_LLM}' THEN cost_usd END) AS cost,
           TOTAL(CASE WHEN agentops_kind = '{A.KIND_LLM}' THEN input_tokens END) AS input_tokens,
           TOTAL(CASE WHEN agentops_kind = '{A.KIND_LLM}' THEN output_tokens END) AS output_tokens,
           COUNT(CASE WHEN agentops_kind = '{A.KIND_LLM}' THEN 1 END) AS calls,
           COUNT(CASE WHEN status_code = 'ERROR'
                      AND agentops_kind IN ({accounting.ERROR_KINDS_SQL})
                 THEN 1 END) AS errors
    FROM spans WHERE session_id = :id
) AS t, (
    -- "+": look up by session (few rows), never scan every session span by kind
    SELECT attributes FROM spans WHERE session_id = :id AND +agentops_kind = '{A.KIND_SESSION}'
    LIMIT 1
) AS r
WHERE sessions.id = :id
"""


# A span as plain values, what the writer stores (``marshal`` can send it to a writer process):
# (trace id, span id, parent span id or 0, name, OTel kind name, start ns, end ns or None,
#  status code name, status message, attributes, events as (name, time ns, attributes),
#  service name, instrumentation scope name)
SpanRecord = tuple[
    int,
    int,
    int,
    str,
    str,
    int,
    "int | None",
    str,
    "str | None",
    "dict[str, Any]",
    "list[tuple[str, int, dict[str, Any]]]",
    "str | None",
    "str | None",
]


def record_of(span: ReadableSpan) -> SpanRecord:
    """The plain values of an SDK span that the store keeps."""
    ctx, parent, scope, status, events = (
        span.context,
        span.parent,
        span.instrumentation_scope,
        span.status,
        span.events,
    )
    return (
        ctx.trace_id,
        ctx.span_id,
        parent.span_id if parent is not None else 0,
        span.name,
        span.kind.name,
        span.start_time or 0,
        span.end_time,
        status.status_code.name,
        status.description,
        _plain(span.attributes),
        [(e.name, e.timestamp, _plain(e.attributes)) for e in events] if events else [],
        _service(span.resource),
        scope.name if scope else None,
    )


_last_service: tuple[Any, Any] = (None, None)


def _service(resource: Any) -> str | None:
    """The ``service.name`` of a span's resource (one provider's spans share their resource
    object: the last one's is kept)."""
    global _last_service
    last, service = _last_service
    if resource is not last:
        service = resource.attributes.get("service.name") if resource else None
        _last_service = (resource, service)
    return service


def _plain(attributes: Any) -> dict[str, Any]:
    """A plain copy of span or event attributes: the SDK's own (C) copy of its read-only
    mapping, 10-20x ``dict()`` over it; any other mapping through ``dict()``."""
    if type(attributes) in (MappingProxyType, dict):
        return attributes.copy()
    return dict(attributes or ())


def _tag_list(tags: Any) -> list[Any]:
    """Session tags as a list; one string (another SDK's single tag) is one tag."""
    return [tags] if isinstance(tags, str) else list(tags)


def _folded(rows: list[list[Any]]) -> list[Any]:
    """A batch's session rows of :data:`_UPSERT_SESSION` (one session, in order) as one row,
    as the upserts one by one would leave it: names and end state the last non-null, service
    and trace the first, start the earliest, totals and counts summed, flags raised."""
    if len(rows) == 1:
        return rows[0]
    columns = list(zip(*rows, strict=True))
    total = list(rows[0])
    for i in (1, 2, 6, 7, 8):
        total[i] = next((v for v in reversed(columns[i]) if v is not None), None)
    for i in (3, 4):
        total[i] = next((v for v in columns[i] if v is not None), None)
    total[5] = min(columns[5])
    for i in range(9, 15):
        total[i] = sum(columns[i])
    total[15], total[16] = max(columns[15]), max(columns[16])
    return total


def _has_root(conn: sqlite3.Connection, session_id: str) -> bool:
    """Whether the session's root span may be stored (its row has an end): without a stored
    session span, :data:`_RECOMPUTE_SESSION` changes nothing, and its scan of every span of
    the session in each batch would make a long session's writes quadratic."""
    row = conn.execute("SELECT end_ns FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return row is not None and row[0] is not None


_MOVE_SESSION = (
    "UPDATE spans SET session_id = :to WHERE session_id = :trace",
    "UPDATE sessions SET span_count = span_count + (SELECT span_count FROM sessions WHERE "
    "id = :trace), start_ns = MIN(start_ns, (SELECT start_ns FROM sessions WHERE id = :trace)) "
    "WHERE id = :to",
    "DELETE FROM sessions WHERE id = :trace",
)


def join_trace(conn: sqlite3.Connection, session_id: str) -> str:
    """Join spans written without a session id (grouped under their trace id) to the agentops
    session of the same trace, whichever arrived first; the session id they now belong to.

    Such spans come from another process in the session's trace: an MCP server (or any remote
    service) that continued the caller's trace context. Both orders occur: the server's spans
    often reach the store before the client's."""
    row = conn.execute("SELECT trace_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
    trace_id = row[0] if row else None
    if not trace_id:
        return session_id
    if trace_id == session_id:  # grouped by trace: is there a session for it?
        owner = conn.execute(
            "SELECT id FROM sessions WHERE trace_id = ? AND id != ? LIMIT 1", (trace_id, trace_id)
        ).fetchone()
        if owner is None:
            return session_id
        session_id = owner[0]
    elif conn.execute("SELECT 1 FROM sessions WHERE id = ?", (trace_id,)).fetchone() is None:
        return session_id
    for statement in _MOVE_SESSION:
        conn.execute(statement, {"to": session_id, "trace": trace_id})
    return session_id


class StoreWriter:
    """Turns spans into ``spans`` rows and ``sessions`` totals; opens the file on first write.

    Spans are finished (content compressed, words indexed: ``agentops_otel.store._content``)
    in the same transaction, or, with ``unfinished`` > 0, up to that many are left for
    :meth:`finish_pending` (which the writer process calls when idle). Even then a batch of
    fewer than ``finish_below`` spans with no older one waiting is finished in its
    transaction: finishing later writes each row twice, which costs more CPU than a burst's
    write path saves."""

    def __init__(
        self,
        path: str | Path | None = None,
        retention_days: float | None = None,
        unfinished: int = 0,
        finish_below: int = 0,
    ) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.retention_days = DEFAULT_RETENTION_DAYS if retention_days is None else retention_days
        self.unfinished = unfinished
        self.finish_below = finish_below
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = connect(self.path, create=True)
            self._apply_retention(conn)
            self._conn = conn
        return self._conn

    def _apply_retention(self, conn: sqlite3.Connection) -> None:
        if not self.retention_days or self.retention_days <= 0:
            return
        cutoff = time.time_ns() - int(self.retention_days * _NS_PER_DAY)
        old = "(SELECT id FROM sessions WHERE start_ns < ?)"
        conn.execute("BEGIN IMMEDIATE")
        try:
            unindex_spans(conn, f"session_id IN {old}", (cutoff,))
            conn.execute(f"DELETE FROM spans WHERE session_id IN {old}", (cutoff,))
            after_delete(conn)
            conn.execute("DELETE FROM sessions WHERE start_ns < ?", (cutoff,))
            conn.execute("DELETE FROM usage_hourly WHERE hour_ns + ? <= ?", (HOUR_NS, cutoff))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def write(self, spans: Sequence[ReadableSpan]) -> int:
        """Insert ``spans`` (already-stored ones are ignored); return how many were new."""
        return self.write_records([record_of(span) for span in spans])

    def write_records(self, records: Sequence[SpanRecord]) -> int:
        """Insert spans given as :func:`record_of` tuples; return how many were new. A batch
        with a string SQLite cannot take (a lone surrogate) is written again with every such
        string escaped (:func:`_utf8_safe`), rather than lost."""
        try:
            return self._write(records)
        except UnicodeEncodeError:
            return self._write(_utf8_safe(records))

    def _write(self, records: Sequence[SpanRecord]) -> int:
        def write(conn: sqlite3.Connection) -> int:
            before = last_rowid(conn)
            now = len(records) < self.finish_below and finished_upto(conn) == before
            batch = _Batch(time.time_ns(), [] if now or not self.unfinished else None)
            spans = [_prepare(record, batch) for record in records]
            for span, rowid in zip(spans, _inserted(conn, spans, before), strict=True):
                if rowid is not None:
                    _add(span, rowid, batch)
            conn.executemany(
                "INSERT INTO span_pending (rowid, content) VALUES (?, ?)", batch.pending
            )
            if batch.texts is not None:
                finish_written(conn, batch.texts, before)
            elif (left := waiting(conn)) > self.unfinished:
                finish(conn, left - self.unfinished)
            conn.executemany(_UPSERT_USAGE, [(*key, *sums) for key, sums in batch.hourly.items()])
            conn.executemany(_UPSERT_SESSION, map(_folded, batch.sessions.values()))
            for session_id in {join_trace(conn, s) for s in batch.sessions}:
                if session_id in batch.rooted or _has_root(conn, session_id):
                    conn.execute(_RECOMPUTE_SESSION, {"id": session_id})
            return batch.written

        return self.update(write)

    def finish_pending(self, limit: int = 2048) -> int:
        """Finish up to ``limit`` spans left unfinished; how many. Nothing waiting (read
        outside a write transaction, the common case between small batches) costs no write."""
        with self._lock:
            if not waiting(self._connection()):
                return 0
        return self.update(lambda conn: finish(conn, limit))

    def update(self, change: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``change`` on the store in one write transaction; its result."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = change(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return result

    def close(self) -> None:
        """Close the file unless a write is still running (then the process exit closes it)."""
        if not self._lock.acquire(timeout=0):
            return
        try:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        finally:
            self._lock.release()


@dataclass
class _Batch:
    """What one transaction collects beside the span rows: the rows to index (``None``:
    left for later, with their content in ``pending``), the usage roll-up, each session's
    rows (folded into one when written), the sessions with a session span among them, how
    many spans were new."""

    now: int
    texts: list[tuple[int, str]] | None
    pending: list[tuple[int, str]] = field(default_factory=list)
    hourly: dict[tuple[int, str, str], list[Any]] = field(default_factory=dict)
    sessions: dict[str, list[list[Any]]] = field(default_factory=dict)
    rooted: set[str] = field(default_factory=set)
    written: int = 0


# A span ready to store: its ``spans`` row, then its searchable text (finished) or its content
# JSON (left for later), the key and sums it adds to the usage roll-up (an LLM call), its
# session row (for :data:`_UPSERT_SESSION`)
_Usage = tuple[tuple[int, str, str], list[Any]]
_Prepared = tuple[tuple[Any, ...], "str | None", "_Usage | None", list[Any]]


def _utf8_safe(value: Any) -> Any:
    """``value`` (records, and the tuples, lists, dicts and strings in them) with every string
    as :func:`utf8_text` makes it."""
    if type(value) is str:
        return utf8_text(value)
    if isinstance(value, dict):
        return {_utf8_safe(k): _utf8_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(map(_utf8_safe, value))
    return value


def _prepare(record: SpanRecord, batch: _Batch) -> _Prepared:
    """What storing one span writes, computed before any of the batch is inserted (each step
    over the whole batch in turn keeps its code and data warm)."""
    (
        trace,
        span_id,
        parent_id,
        span_name,
        span_kind,
        start,
        end,
        status,
        status_message,
        raw_attrs,
        raw_events,
        service,
        scope,
    ) = record
    attrs = normalize(raw_attrs, span_name)  # our own spans: the record's dict, not copied
    trace_id = format(trace, "032x")
    parent = format(parent_id, "016x") if parent_id else None
    error = status == "ERROR"
    kind = accounting.span_kind(attrs)
    if kind == A.KIND_LLM:  # call_of, its kind known
        call = accounting.model_call(attrs, error)
    else:
        call = accounting.call_of(attrs, error)
    if call.invalid:  # a copy: the caller's record stays as it was
        attrs = {**attrs, A.USAGE_INVALID: list(call.invalid)}
    model = accounting.model_of(attrs)
    provider = accounting.provider_of(attrs)
    usage = call.usage
    input_tokens = usage.input_tokens if usage is not None else None
    output_tokens = usage.output_tokens if usage is not None else None
    cost, source = call.cost_usd, call.cost_source
    session_id = attrs.get(A.SESSION_ID)
    # Spans outside any agentops session are grouped by trace, named after the root span.
    implicit = session_id is None
    session_id = str(session_id) if session_id is not None else trace_id
    is_root = kind == A.KIND_SESSION or (implicit and parent is None)
    if kind == A.KIND_SESSION:
        batch.rooted.add(session_id)
    events = [
        {"name": name, "time_ns": time_ns, "attributes": event_attrs}
        for name, time_ns, event_attrs in raw_events
    ]
    attributes, content = split(attrs)
    finished = batch.texts is not None
    row = (
        trace_id,
        format(span_id, "016x"),
        parent,
        session_id,
        span_name,
        span_kind,
        kind,
        start,
        end,
        status,
        status_message,
        model,
        provider,
        input_tokens,
        output_tokens,
        cost,
        source,
        service,
        scope,
        attributes,
        compressed(content) if finished else None,
        dumps(events) if events else "[]",
    )
    hourly: _Usage | None = None
    if call.llm_calls == 1:
        key = (
            start // HOUR_NS * HOUR_NS,
            str(model or NO_MODEL),
            str(attrs.get(A.AGENT_NAME) or NO_AGENT),
        )
        added = [1, int(error), input_tokens or 0, output_tokens or 0, cost or 0.0]
        added.append(int(accounting.unpriced(cost, usage, attrs)))  # not counted as $0
        hourly = (key, added)
    tags = attrs.get(A.SESSION_TAGS)
    name = attrs.get(A.SESSION_NAME) or (span_name if implicit and parent is None else None)
    session = [
        session_id,
        name,
        dumps(_tag_list(tags)) if tags is not None else None,
        service,
        trace_id,
        start,
        end if is_root else None,
        attrs.get(A.SESSION_END_STATE) if is_root else None,
        attrs.get(A.SESSION_END_REASON) if is_root else None,
        cost or 0.0,
        input_tokens or 0,
        output_tokens or 0,
        call.llm_calls,
        call.errors,
        1,
        1 if attrs.get(A.LOOP_DETECTED) else 0,
        1 if attrs.get(A.BUDGET_EXCEEDED) else 0,
        batch.now,
    ]
    return row, search_text(attrs, events) if finished else content, hourly, session


_MAX_ROWID = 2**63 - 1  # then SQLite picks unused rowids at random


def _inserted(
    conn: sqlite3.Connection, spans: list[_Prepared], before: int
) -> Sequence[int | None]:
    """Insert the rows of ``spans`` (those stored already are ignored); the rowid of each,
    ``None`` where ignored. ``before`` is the largest rowid before them: SQLite gives a new row
    the largest rowid + 1 (below the largest possible one), so when every row was new they
    are the next ones in order."""
    inserted = conn.executemany(_INSERT_SPAN, [span[0] for span in spans]).rowcount
    if inserted == len(spans) and before + inserted < _MAX_ROWID:
        return range(before + 1, before + 1 + inserted)
    new = {
        (trace_id, span_id): rowid
        for rowid, trace_id, span_id in conn.execute(
            "SELECT rowid, trace_id, span_id FROM spans WHERE rowid > ?", (before,)
        )
    }  # the first of a span sent twice in the batch is the one stored
    return [new.pop((span[0][0], span[0][1]), None) for span in spans]


def _add(span: _Prepared, rowid: int, batch: _Batch) -> None:
    """Add a newly stored span (``rowid``) to ``batch``: its text or pending content, its
    session's row and (an LLM call) the usage roll-up."""
    row, text, hourly, session = span
    batch.written += 1
    if batch.texts is not None:
        batch.texts.append((rowid, text or ""))  # finished: its searchable text
    elif text is not None:
        batch.pending.append((rowid, text))
    if hourly is not None:
        key, added = hourly
        total = batch.hourly.setdefault(key, added)
        if total is not added:
            for i, value in enumerate(added):
                total[i] += value
    batch.sessions.setdefault(row[3], []).append(session)


class StoreSpanExporter(SpanExporter):
    """``SpanExporter`` over :class:`StoreWriter`. A store that cannot be opened (corrupt,
    newer schema, unwritable) is reported once and then skipped; the app carries on."""

    def __init__(self, path: str | Path | None = None, retention_days: float | None = None) -> None:
        self.writer = StoreWriter(path, retention_days)
        self._broken = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._broken:
            return SpanExportResult.FAILURE
        try:
            self.writer.write(spans)
        except StoreError as exc:
            self._broken = True
            _log.warning("agentops-otel: local store disabled: %s", exc)
            return SpanExportResult.FAILURE
        except sqlite3.Error as exc:
            _log.debug("agentops-otel: local store write failed: %s", exc, exc_info=True)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.writer.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
