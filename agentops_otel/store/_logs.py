"""Content sent as OTLP log records (the GenAI instrumentations' event mode), attached to its span.

A record names its span by trace and span id. When the span is stored already, the record becomes
one of its events and the content it carries becomes the span's ``gen_ai.input.messages`` /
``gen_ai.output.messages`` (unless the span has its own); when the span has not arrived yet, the
records wait (bounded, oldest dropped first) and are added as the span is ingested.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from agentops_otel.store._content import (
    CONTENT_SQL,
    compressed,
    dumps,
    finished_upto,
    joined,
    split,
)
from agentops_otel.store._normalize import content_from_events
from agentops_otel.store._search import index_text, search_text, unindex_text
from agentops_otel.store._writer import SpanRecord, StoreWriter

Key = tuple[str, str]  # trace id (32 hex), span id (16 hex)
MAX_PENDING_SPANS = 10_000


def _key(trace_id: int, span_id: int) -> Key:
    return format(trace_id, "032x"), format(span_id, "016x")


def _attach_stored(conn: sqlite3.Connection, grouped: dict[Key, list[dict[str, Any]]]) -> list[Key]:
    """Add the events to the stored spans; the keys of spans not stored (yet)."""
    missing, finished = [], finished_upto(conn)
    for key, events in grouped.items():
        row = conn.execute(
            f"SELECT rowid, attributes, events, {CONTENT_SQL} FROM spans WHERE trace_id = ? "
            "AND span_id = ?",
            key,
        ).fetchone()
        if row is None:
            missing.append(key)
            continue
        rowid, attrs, stored = row[0], joined(row[1], row[3]), json.loads(row[2])
        indexed = search_text(attrs, stored)
        attrs.update((k, v) for k, v in content_from_events(events).items() if k not in attrs)
        others, content = split(attrs)
        conn.execute(
            "UPDATE spans SET attributes = ?, content = ?, events = ? WHERE rowid = ?",
            (others, compressed(content), dumps(stored + events), rowid),
        )
        conn.execute("DELETE FROM span_pending WHERE rowid = ?", (rowid,))
        # an indexed span's index row: its words now, in place of the old ones (a span not
        # indexed yet is indexed later, as it is then)
        if rowid <= finished:
            unindex_text(conn, [(rowid, indexed)])
            index_text(conn, [(rowid, search_text(attrs, stored + events))])
    return missing


class LogContent:
    """Log records of one ``serve`` process, attached to stored spans or held for later ones."""

    def __init__(self, writer: StoreWriter, limit: int = MAX_PENDING_SPANS) -> None:
        self.writer = writer
        self.limit = limit
        self._pending: OrderedDict[Key, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, records: Iterable[Any]) -> None:
        """Attach records (with ``trace_id``, ``span_id``, ``name``, ``time_ns`` and
        ``attributes``, e.g. the dashboard's ``LogEvent``) to their spans."""
        grouped: dict[Key, list[dict[str, Any]]] = {}
        for r in records:
            grouped.setdefault(_key(r.trace_id, r.span_id), []).append(
                {"name": r.name, "time_ns": r.time_ns, "attributes": r.attributes}
            )
        if not grouped:
            return
        missing = self.writer.update(lambda conn: _attach_stored(conn, grouped))
        with self._lock:
            for key in missing:
                self._pending.setdefault(key, []).extend(grouped[key])
            while len(self._pending) > self.limit:
                self._pending.popitem(last=False)

    def merge(self, records: Sequence[SpanRecord]) -> Sequence[SpanRecord]:
        """``records`` with the log records that arrived before them added as events and
        content."""
        if not self._pending:
            return records
        out = []
        for record in records:
            with self._lock:
                events = self._pending.pop(_key(record[0], record[1]), None)
            out.append(record if events is None else _with_events(record, events))
        return out


def _with_events(record: SpanRecord, events: list[dict[str, Any]]) -> SpanRecord:
    attrs = dict(record[9])
    for key, value in content_from_events(events).items():
        attrs.setdefault(key, value)
    added = [(e["name"], e["time_ns"], e["attributes"]) for e in events]
    return (*record[:9], attrs, [*record[10], *added], *record[11:])
