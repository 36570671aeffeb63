"""The SQLite store's reader (the local store), for the CLI viewer and the dashboard."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from agentops_otel import semconv as A
from agentops_otel.store._content import CONTENT_SQL, joined, stored_text
from agentops_otel.store._db import (
    HOUR_NS,
    SCHEMA_VERSION,
    StoreError,
    connect,
    default_path,
)
from agentops_otel.store._rows import (
    RateRow,
    SessionRow,
    SpanRow,
    UsageRow,
    pick_session,
    string_tags,
)
from agentops_otel.store._search import Term, fts_query, matches, parse_search

_SESSION_COLUMNS = (
    "id, name, tags, service, trace_id, start_ns, end_ns, end_state, end_reason, cost_usd, "
    "input_tokens, output_tokens, llm_calls, errors, span_count, loop_detected, budget_exceeded"
)
_SPAN_COLUMNS = (
    "trace_id, span_id, parent_span_id, session_id, name, kind, agentops_kind, start_ns, end_ns, "
    "status_code, status_message, model, provider, input_tokens, output_tokens, cost_usd, "
    "cost_source, service, scope, attributes, events"
)

_AGENT_PATH = f'$."{A.AGENT_NAME}"'


def _session(row: tuple[Any, ...]) -> SessionRow:
    values = list(row)
    values[2] = string_tags(json.loads(values[2])) if values[2] else ()
    values[15], values[16] = bool(values[15]), bool(values[16])
    return SessionRow(*values)


def _span(row: tuple[Any, ...]) -> SpanRow:
    *values, attributes, events, content = row
    values += [joined(attributes, content), json.loads(events)]
    return SpanRow(*values)


_PROBE_WINDOW = 1_000  # a search tests this many newest sessions before collecting them all


_TAIL = "id IN (SELECT value FROM json_each(?))"  # sessions found in the unindexed tail


def _since_ns(since: datetime | float) -> int:
    seconds = since.timestamp() if isinstance(since, datetime) else float(since)
    return int(seconds * 1e9)


class Store:
    """Read-only view of a store file. Use :meth:`open`; close it (or use ``with``)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self.location = str(path)
        pending = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'span_pending'")
        # a file of version 4 or older (until a writer upgrades it) has no content column
        self._span_columns = f"{_SPAN_COLUMNS}, {CONTENT_SQL if pending.fetchone() else 'NULL'}"

    @classmethod
    def open(cls, path: str | Path | None = None) -> Store:
        """Open the store at ``path`` (a file or a directory), else the default per-user path.

        Raises :class:`StoreError` when the file is missing, corrupt, or has a newer schema.
        """
        resolved = default_path(path)
        return cls(connect(resolved, create=False), resolved)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"reading {self.path} failed: {exc}") from exc

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
        """Newest sessions first. ``end_state="running"`` selects sessions not yet ended;
        ``since``/``until`` are datetimes or epoch seconds; ``model``/``agent`` keep sessions
        with an LLM call of that model / a span of that agent (tags, models and agents in any
        case); ``before`` is the keyset cursor
        ``(start_ns, id)`` of the last row of the previous page; ``q`` keeps sessions with a
        span whose prompts, completions or tool payloads contain every word of it."""
        where: list[str] = []
        params: list[Any] = []
        if tag is not None:
            where.append(
                "EXISTS (SELECT 1 FROM json_each(sessions.tags) WHERE value = ? COLLATE NOCASE)"
            )
            params.append(tag)
        if end_state == "running":
            where.append("end_ns IS NULL")
        elif end_state is not None:
            where.append("end_state = ? COLLATE NOCASE")
            params.append(end_state)
        if since is not None:
            where.append("start_ns >= ?")
            params.append(_since_ns(since))
        if until is not None:
            where.append("start_ns < ?")
            params.append(_since_ns(until))
        if model is not None:
            where.append(
                "EXISTS (SELECT 1 FROM spans WHERE spans.session_id = sessions.id "
                "AND spans.model = ? COLLATE NOCASE)"
            )
            params.append(model)
        if agent is not None:
            where.append(
                "EXISTS (SELECT 1 FROM spans WHERE spans.session_id = sessions.id "
                f"AND json_extract(spans.attributes, '{_AGENT_PATH}') = ? COLLATE NOCASE)"
            )
            params.append(agent)
        if min_cost is not None:
            where.append("cost_usd >= ?")
            params.append(min_cost)
        if before is not None:
            where.append("(start_ns, id) < (?, ?)")  # a row value: a range on the index
            params.extend(before)
        if q is not None and q.strip():
            self._need_version(5, "full-text search")
            return self._search_sessions(q, where, params, before, limit)
        return self._sessions(where, params, limit)

    def _sessions(self, where: list[str], params: list[Any], limit: int) -> list[SessionRow]:
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._query(
            f"SELECT {_SESSION_COLUMNS} FROM sessions {clause} "
            "ORDER BY start_ns DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [_session(r) for r in rows]

    def _search_sessions(
        self,
        q: str,
        where: list[str],
        params: list[Any],
        before: tuple[int, str] | None,
        limit: int,
    ) -> list[SessionRow]:
        """The sessions page with a search. The next :data:`_PROBE_WINDOW` sessions, newest
        first, are tested against the spans the index finds from their first span on, and that
        answer is kept when it fills the page (the rest are older); else the sessions of every
        matching span are collected.

        The index is asked once per query, never once per span: a word is a prefix, and FTS5
        merges the doclists of every word with that prefix each time it evaluates one."""
        groups = parse_search(q)
        if not groups:
            return []  # no word to find
        match, tail = fts_query(groups), json.dumps(self._tail_sessions(groups))
        later = ["(start_ns, id) < (?, ?)"] if before else []
        edge = self._query(
            f"SELECT start_ns, id FROM sessions {'WHERE ' + later[0] if later else ''} "
            "ORDER BY start_ns DESC, id DESC LIMIT 1 OFFSET ?",
            (*(before or ()), _PROBE_WINDOW),
        )
        if edge:
            window = [*later, "(start_ns, id) > (?, ?)"]
            bounds = (*(before or ()), *edge[0])
            ((first,),) = self._query(
                "SELECT MIN((SELECT MIN(rowid) FROM spans WHERE session_id = sessions.id)) "
                f"FROM sessions WHERE {' AND '.join(window)}",
                bounds,
            )
            rows = self._sessions(
                [
                    *where,
                    window[-1],
                    "(EXISTS (SELECT 1 FROM spans AS s WHERE s.session_id = sessions.id AND "
                    "s.rowid IN (SELECT rowid FROM span_text WHERE span_text MATCH ? AND "
                    f"rowid >= ?)) OR {_TAIL})",
                ],
                [*params, *edge[0], match, first or 0, tail],
                limit,
            )
            if len(rows) == limit:
                return rows
        collect = (
            "(id IN (SELECT session_id FROM spans WHERE rowid IN "
            f"(SELECT rowid FROM span_text WHERE span_text MATCH ?)) OR {_TAIL})"
        )
        return self._sessions([*where, collect], [*params, match, tail], limit)

    def _tail_sessions(self, groups: list[list[Term]]) -> list[str]:
        """The sessions of spans not in the index yet (the writer process indexes them when
        idle) that match: their text read from the span rows."""
        rows = self._query(
            f"SELECT session_id, attributes, events, {CONTENT_SQL} FROM spans WHERE rowid > "
            "(SELECT COALESCE(MAX(last_rowid), 0) FROM text_indexed)"
        )
        return sorted({r[0] for r in rows if matches(groups, stored_text(*r[1:]))})

    def _need_version(self, version: int, feature: str) -> None:
        (found,) = self._query("SELECT MAX(version) FROM schema_version")[0]
        if found < version:
            raise StoreError(
                f"{feature} needs a store of version {SCHEMA_VERSION}; {self.path} "
                f"is version {found} (writing to it once upgrades it)"
            )

    def change_marker(self, session_id: str | None = None) -> int:
        """A number that changes whenever the store (or one session) receives spans: the
        newest write time. Cheap (indexed), for pages that refresh while sessions run."""
        if session_id is None:
            rows = self._query("SELECT MAX(updated_ns) FROM sessions")
        else:
            rows = self._query("SELECT updated_ns FROM sessions WHERE id = ?", (session_id,))
        return (rows[0][0] if rows else None) or 0

    def resolve_session(self, prefix: str) -> str:
        """Full session id from a unique prefix (git-like); :class:`StoreError` if none or
        several match."""
        return pick_session(
            prefix,
            lambda start: [
                r[0]
                for r in self._query(
                    "SELECT id FROM sessions WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
                    (start, start + "\U0010ffff"),
                )
            ],
        )

    def get_session(self, session_id: str) -> SessionRow | None:
        rows = self._query(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
        return _session(rows[0]) if rows else None

    def session_spans(self, session_id: str) -> list[SpanRow]:
        """Every span of the session, in start order (build the tree from ``parent_span_id``)."""
        rows = self._query(
            f"SELECT {self._span_columns} FROM spans WHERE session_id = ? "
            "ORDER BY start_ns, span_id",
            (session_id,),
        )
        return [_span(r) for r in rows]

    def get_span(self, session_id: str, span_id: str) -> SpanRow | None:
        """One span of a session by its hex span id."""
        rows = self._query(
            f"SELECT {self._span_columns} FROM spans WHERE session_id = ? AND span_id = ?",
            (session_id, span_id),
        )
        return _span(rows[0]) if rows else None

    def usage_over_time(
        self, since: datetime | float, bucket_seconds: int, by: str
    ) -> list[UsageRow]:
        """LLM calls, tokens and cost per time bucket and per ``by`` (``"model"`` or
        ``"agent"``), from the hourly roll-up kept at ingest (``since`` counts from the start of
        its hour; buckets are whole hours); ``cost_usd`` sums only priced calls, ``unpriced``
        counts the others."""
        self._need_version(2, "usage over time")
        key = "model" if by == "model" else "agent"
        width = max(int(bucket_seconds * 1e9) // HOUR_NS, 1) * HOUR_NS
        rows = self._query(
            f"SELECT (hour_ns / ?) * ?, {key}, SUM(calls), SUM(errors), SUM(input_tokens), "
            "SUM(output_tokens), TOTAL(cost_usd), SUM(unpriced) FROM usage_hourly "
            "WHERE hour_ns >= ? GROUP BY 1, 2 ORDER BY 1, 2",
            (width, width, _since_ns(since) // HOUR_NS * HOUR_NS),
        )
        return [UsageRow(*r) for r in rows]

    def session_rates(self, since: datetime | float, bucket_seconds: int) -> list[RateRow]:
        """Sessions per time bucket with how many had errors, loops or a blown budget."""
        width = int(bucket_seconds * 1e9)
        rows = self._query(
            "SELECT (start_ns / ?) * ?, COUNT(*), SUM(errors > 0), SUM(loop_detected), "
            "SUM(budget_exceeded) FROM sessions WHERE start_ns >= ? GROUP BY 1 ORDER BY 1",
            (width, width, _since_ns(since)),
        )
        return [RateRow(*r) for r in rows]
